import { strict as assert } from 'node:assert';
import { Code } from '@connectrpc/connect';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createRankingActivities } from '../../activities/ranking';
import { createScoringActivities } from '../../activities/scoring';
import { eventIdFor } from '../../domain/events';
import { FINDING_KINDS } from '../../domain/findings';
import { feedItemId } from '../../domain/ids';
import { PostType, Visibility } from '../../gen/feedflow/v1/common_pb';
import { CheckScope, type ConsistencyReport, OperationsService } from '../../gen/feedflow/v1/operations_pb';
import { createLogger } from '../../lib/logger';
import { TASK_QUEUES } from '../../pipeline/queues';
import { startOperationsServer } from '../../services/operations/server';
import type { GrpcServer } from '../../services/shared/grpc-server';
import { type FeedItemDoc, readModel } from '../../stores/read-model';
import { writeModel } from '../../stores/write-model';
import { ensureSchedules } from '../../workers/schedules';
import { workflowBundle } from '../support/bundle';
import { type CommandHarness, startCommandHarness } from '../support/command';
import { uniqueId } from '../support/env';
import { codeOf, grpcClient } from '../support/grpc';
import { feedOf } from '../support/projection';
import { waitFor } from '../support/wait';
import { runProjectionWorkers, runWorkers, type RunningWorkers } from '../support/workers';

// Interval schedules fire on multiples of their interval since the epoch: 30 days keeps them out of this suite.
const RARELY = String(30 * 24 * 3_600_000);

/**
 * Consistency checks, repairs and OperationsService on the local stack: commands over gRPC, the projection and
 * ranking workers with the real activities in this process, the operations server on a real port.
 */
describe('Consistency checks and OperationsService (real servers)', function () {
  this.timeout(300_000);
  let h: CommandHarness;
  let connection: NativeConnection;
  let projection: RunningWorkers;
  let ranking: RunningWorkers;
  let server: GrpcServer;
  let ops: ReturnType<typeof grpcClient<typeof OperationsService>>;
  let schedules: string[] = [];
  const m: Record<string, string> = {};
  const posts: Record<string, string> = {};

  const rm = () => readModel(h.stores.db);
  const wait = (receipt?: { eventId: string }) => h.projected(receipt?.eventId);

  before(async () => {
    h = await startCommandHarness({
      CONSISTENCY_SETTLE_MS: '1',
      CONSISTENCY_SCORE_WINDOW_MS: '2000',
      // Scheduled runs would race the checks this suite runs by hand; it triggers them itself.
      CONSISTENCY_RECENT_INTERVAL_MS: RARELY,
      CONSISTENCY_DEEP_INTERVAL_MS: RARELY,
      OUTBOX_SCHEDULE_INTERVAL_MS: RARELY,
      OUTBOX_SWEEP_AGE_MS: '1000',
    });
    const config = h.stores.config;
    connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
    const running = await runProjectionWorkers(connection, h.stores, h.prefix, {}, h.temporal);
    projection = running;
    const deps = { db: h.stores.db, graph: running.graph, config };
    ranking = await runWorkers(connection, config.TEMPORAL_NAMESPACE, [h.prefix + TASK_QUEUES.ranking], {
      ...createRankingActivities(deps),
      ...createScoringActivities(deps),
    });
    schedules = await ensureSchedules(h.temporal, config, createLogger('ops-test', 'silent'));
    const logger = createLogger('ops-test', 'error');
    server = await startOperationsServer({ config, db: h.stores.db, temporal: h.temporal, logger, port: 0 });
    ops = grpcClient(OperationsService, server.port, 'dev-ops');

    // Ann's network: Bob and Cat connected, Dan and Fay following, Eve connected. One post before Bob connects,
    // so Bob's feed holds a backfilled item too.
    for (const name of ['ann', 'bob', 'cat', 'dan', 'eve', 'fay']) m[name] = await h.register(name);
    const c = h.client;
    const early = await c.createPost({
      authorId: m.ann,
      content: 'Before Bob connected',
      visibility: Visibility.CONNECTIONS,
      postType: PostType.TEXT,
    });
    posts.early = early.postId;
    await wait(early.receipt);
    for (const name of ['bob', 'cat', 'eve']) {
      const req = await c.requestConnection({ requesterId: m[name], addresseeId: m.ann });
      await wait(
        (await c.respondToConnection({ addresseeId: m.ann, connectionId: req.connectionId, accept: true })).receipt,
      );
    }
    for (const name of ['dan', 'fay']) await wait((await c.follow({ followerId: m[name], followeeId: m.ann })).receipt);
    for (const key of ['p1', 'p2', 'p3', 'p4']) {
      const res = await c.createPost({
        authorId: m.ann,
        content: `Ann's post ${key}`,
        visibility: Visibility.PUBLIC,
        postType: PostType.TEXT,
      });
      posts[key] = res.postId;
      await wait(res.receipt);
    }
    await wait((await c.block({ blockerId: m.eve, blockedId: m.ann })).receipt);
    await wait((await c.unfollow({ followerId: m.fay, followeeId: m.ann })).receipt);
    await wait((await c.deletePost({ authorId: m.ann, postId: posts.p4, expectedVersion: 1 })).receipt);
    await waitFor(async () => (await rm().feedItems.countDocuments({ modelVersion: null })) === 0, {
      message: 'every item scored',
      timeoutMs: 120_000,
    });
  });

  after(async () => {
    for (const id of schedules)
      await h.temporal.schedule
        .getHandle(id)
        .delete()
        .catch(() => undefined);
    await server?.close();
    await ranking?.stop();
    await projection?.stop();
    await connection?.close();
    await h?.close();
  });

  const check = async (scope = CheckScope.RECENT): Promise<ConsistencyReport> => {
    const res = await ops.runConsistencyCheck({ scope, windowSeconds: 600 });
    assert.ok(res.report, 'the check waited for its report');
    return res.report;
  };
  const countsOf = (r: ConsistencyReport) => Object.fromEntries(r.counts.map((c) => [c.kind, c]));

  it('refuses the commands and queries scopes, and answers bad input with INVALID_ARGUMENT or NOT_FOUND', async () => {
    for (const token of ['dev-commands', 'dev-queries']) {
      const other = grpcClient(OperationsService, server.port, token);
      assert.equal(await codeOf(other.getProjectionStatus({})), Code.PermissionDenied);
      assert.equal(await codeOf(other.replayFanout({ postId: posts.p1 })), Code.PermissionDenied);
    }
    assert.equal(
      await codeOf(grpcClient(OperationsService, server.port).getProjectionStatus({})),
      Code.Unauthenticated,
    );
    assert.equal(await codeOf(ops.replayFanout({ postId: '' })), Code.InvalidArgument);
    assert.equal(await codeOf(ops.replayFanout({ postId: 'no such post!' })), Code.InvalidArgument);
    assert.equal(await codeOf(ops.replayFanout({ postId: uniqueId('p') })), Code.NotFound);
    assert.equal(await codeOf(ops.rebuildFeed({ userId: uniqueId('u') })), Code.NotFound);
    assert.equal(await codeOf(ops.runConsistencyCheck({})), Code.InvalidArgument);
    assert.equal(await codeOf(ops.getConsistencyReport({ limit: 51 })), Code.InvalidArgument);
  });

  it('finds nothing on a consistent read model', async () => {
    const report = await check();
    assert.equal(report.found, 0, JSON.stringify(report.samples));
    assert.ok(report.eventsChecked > 0);
  });

  it('finds and repairs six kinds of corruption, with matching report counts, and then finds none', async () => {
    const items = rm().feedItems;
    const item = (viewer: string, post: string) => items.findOne({ _id: feedItemId(viewer, post) });
    // missing: two of p1's items gone.
    await items.deleteMany({ _id: { $in: [feedItemId(m.bob, posts.p1), feedItemId(m.cat, posts.p1)] } });
    // blocked: an item of p2 for Eve, who blocked Ann.
    const template = (await item(m.bob, posts.p2)) as FeedItemDoc;
    await items.insertOne({ ...template, _id: feedItemId(m.eve, posts.p2), viewerId: m.eve });
    // not_visible: an item of p1 for Fay, who unfollowed Ann.
    const p1 = (await item(m.dan, posts.p1)) as FeedItemDoc;
    await items.insertOne({ ...p1, _id: feedItemId(m.fay, posts.p1), viewerId: m.fay });
    // stale: Dan's copy of p3 at another version and content.
    await items.updateOne({ _id: feedItemId(m.dan, posts.p3) }, { $set: { version: 0, content: 'old text' } });
    // deleted: p4 was deleted; one item of it is back.
    await items.insertOne({ ...template, _id: feedItemId(m.cat, posts.p4), viewerId: m.cat, postId: posts.p4 });
    // unscored: two items lost their model score.
    const unscored = [feedItemId(m.cat, posts.p2), feedItemId(m.dan, posts.p2)];
    await items.updateMany({ _id: { $in: unscored } }, { $set: { modelVersion: null }, $unset: { scoredAt: '' } });
    // An unscored item is a finding only once it was projected longer ago than the scoring window (2 s here).
    await waitFor(
      async () => {
        const docs = await items.find({ _id: { $in: unscored } }).toArray();
        return docs.length === unscored.length && docs.every((d) => d.projectedAt.getTime() < Date.now() - 2_100);
      },
      { message: 'the unscored items past the scoring window', timeoutMs: 10_000 },
    );

    const report = await check();
    const counts = countsOf(report);
    const expected = { missing: 2, blocked: 1, not_visible: 1, stale: 1, deleted: 1, unscored: 2 };
    for (const kind of FINDING_KINDS) {
      assert.equal(counts[kind].found, expected[kind], `${kind} found: ${JSON.stringify(report.samples)}`);
      assert.equal(counts[kind].repaired, expected[kind], `${kind} repaired`);
      assert.equal(counts[kind].failed, 0, `${kind} failed`);
    }
    assert.equal(report.found, 8);
    assert.equal(report.repaired, 8);

    // The read model is whole again.
    assert.ok(await item(m.bob, posts.p1));
    assert.ok(await item(m.cat, posts.p1));
    assert.equal(await item(m.eve, posts.p2), null);
    assert.equal(await item(m.fay, posts.p1), null);
    assert.equal((await item(m.dan, posts.p3))?.version, 1);
    assert.equal((await item(m.dan, posts.p3))?.content, "Ann's post p3");
    assert.equal(await items.countDocuments({ postId: posts.p4 }), 0);
    assert.ok((await item(m.cat, posts.p2))?.modelVersion);

    const again = await check();
    assert.equal(again.found, 0, JSON.stringify(again.samples));
    const [latest, previous] = (await ops.getConsistencyReport({ limit: 2, scope: CheckScope.RECENT })).reports;
    assert.equal(latest.workflowId, again.workflowId);
    assert.equal(previous.workflowId, report.workflowId);
    assert.equal(previous.repaired, 8);
  });

  it('deep-checks sampled feeds against a rebuild from the write model and the graph', async () => {
    await rm().feedItems.deleteOne({ _id: feedItemId(m.bob, posts.early) });
    const res = await ops.runConsistencyCheck({ scope: CheckScope.DEEP, sampleSize: 100 });
    const counts = countsOf(res.report!);
    assert.equal(res.report!.membersChecked, 6);
    assert.equal(counts.missing.found, 1, JSON.stringify(res.report!.samples));
    assert.equal(res.report!.found, 1);
    assert.equal(res.report!.repaired, 1);
    assert.ok(await rm().feedItems.findOne({ _id: feedItemId(m.bob, posts.early) }));
  });

  it('replays a fan-out twice to the exact item count', async () => {
    const count = () => rm().feedItems.countDocuments({ postId: posts.p1 });
    const before = await count();
    assert.equal(before, 4, 'Ann, Bob, Cat and Dan');
    await rm().feedItems.deleteOne({ _id: feedItemId(m.dan, posts.p1) });
    for (let i = 0; i < 2; i++) {
      const res = await ops.replayFanout({ postId: posts.p1 });
      assert.equal(res.workflowId, `${h.prefix}replay/post/${posts.p1}/v1`);
      await h.temporal.workflow.getHandle(res.workflowId).result();
      assert.equal(await count(), before);
    }
  });

  it('rebuilds a wiped feed exactly', async () => {
    const before = await feedOf(h.stores, m.bob);
    assert.ok(before.length >= 4, before.join());
    await rm().feedItems.deleteMany({ viewerId: m.bob });
    const res = await ops.rebuildFeed({ userId: m.bob });
    assert.equal(res.workflowId, `${h.prefix}rebuild/feed/${m.bob}`);
    assert.equal(res.items, before.length);
    assert.equal(res.written, before.length);
    assert.deepEqual(await feedOf(h.stores, m.bob), before);
    const reasons = await rm().feedItems.findOne({ _id: feedItemId(m.bob, posts.early) });
    assert.equal(reasons?.reason, 'backfill');
    const again = await ops.rebuildFeed({ userId: m.bob });
    assert.deepEqual([again.written, again.removed], [0, 0]);
  });

  it('starts a pending outbox event through the sweep schedule', async () => {
    const wm = writeModel(h.stores.db);
    const template = await wm.events.findOne({ type: 'UserRegistered' });
    const userId = uniqueId('u');
    const eventId = eventIdFor('user', userId, 1, 'UserRegistered');
    await wm.events.insertOne({
      ...template!,
      _id: eventId,
      aggregateId: userId,
      actorId: userId,
      payload: { ...template!.payload, email: `${userId}@example.com` },
      workflowId: eventId,
      status: 'pending',
      at: new Date(Date.now() - 60_000),
      requestKey: eventId,
    });
    const outbox = schedules.find((s) => s.endsWith('outbox-sweep'))!;
    await h.temporal.schedule.getHandle(outbox).trigger();
    const started = await waitFor(async () => (await wm.events.findOne({ _id: eventId }))?.status === 'started', {
      message: 'the swept event started',
    });
    assert.ok(started);
    assert.equal((await h.temporal.workflow.getHandle(eventId).describe()).type, 'profileWorkflow');
    assert.ok(await wm.users.findOne({ _id: userId }), 'the event was applied to the write model');
  });

  it('reports projection status and pauses and resumes the schedules', async () => {
    const status = await ops.getProjectionStatus({ windowSeconds: 3600 });
    assert.equal(status.outboxPending, 0);
    assert.ok(status.lagSamples > 0);
    assert.ok(status.lagP99Ms >= status.lagP50Ms);
    assert.equal(status.schedules.length, 4);
    const paused = await ops.pauseSchedules({ note: 'maintenance' });
    assert.deepEqual(
      paused.schedules.map((s) => [s.paused, s.note]),
      schedules.map(() => [true, 'maintenance']),
    );
    // A worker restart keeps an operator's pause.
    await ensureSchedules(h.temporal, h.stores.config, createLogger('ops-test', 'silent'));
    assert.ok((await ops.getProjectionStatus({})).schedules.every((s) => s.paused));
    const resumed = await ops.resumeSchedules({});
    assert.ok(resumed.schedules.every((s) => !s.paused));
  });

  it('replays the histories of the checks, repairs, replays, rebuilds and sweeps it ran', async () => {
    const types = ['consistencyCheckWorkflow', 'replayFanoutWorkflow', 'rebuildFeedWorkflow', 'outboxSweepWorkflow'];
    const histories = [];
    for (const type of types) {
      const query = `WorkflowType = "${type}" AND ExecutionStatus != "Running" AND TaskQueue = "${h.prefix}projection"`;
      for await (const wf of h.temporal.workflow.list({ query })) {
        histories.push({
          workflowId: wf.workflowId,
          history: await h.temporal.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory(),
        });
      }
    }
    const seen = new Set(histories.map((x) => x.workflowId.split('/')[0]));
    assert.ok(histories.length >= types.length, `${histories.length} histories`);
    assert.ok(seen.size >= 3, [...seen].join());
    const failures: string[] = [];
    for await (const r of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
      if (r.error) failures.push(`${r.workflowId}: ${String(r.error)}`);
    }
    assert.deepEqual(failures, []);
  });
});
