import { strict as assert } from 'node:assert';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code } from '@connectrpc/connect';
import { NativeConnection, Worker } from '@temporalio/worker';
import { MongoClient } from 'mongodb';
import { createProjectionActivities } from '../../activities';
import { createRankingActivities } from '../../activities/ranking';
import { createScoringActivities } from '../../activities/scoring';
import { feedItemId } from '../../domain/ids';
import { PostType, Visibility } from '../../gen/feedflow/v1/common_pb';
import { type Operation, OperationState, OperationsService } from '../../gen/feedflow/v1/operations_pb';
import { createLogger } from '../../lib/logger';
import { TASK_QUEUES } from '../../pipeline/queues';
import { WORKFLOW_TYPES } from '../../pipeline/registry';
import { replayChildId } from '../../pipeline/routing';
import { startOperationsServer } from '../../services/operations/server';
import type { GrpcServer } from '../../services/shared/grpc-server';
import { createGraph } from '../../stores/graph';
import { readModel } from '../../stores/read-model';
import { workflowBundle } from '../support/bundle';
import { type CommandHarness, startCommandHarness } from '../support/command';
import { uniqueId } from '../support/env';
import { codeOf, grpcClient } from '../support/grpc';
import { feedOf } from '../support/projection';
import { waitFor } from '../support/wait';
import { runProjectionWorkers, runWorkers, type RunningWorkers } from '../support/workers';

/** A projection run this deployment bounds; the fan-outs of a store outage time out after it. */
const PROJECTION_TIMEOUT_MS = 6_000;
const FAILED_POSTS = 4;
/** How a projection bounded by PROJECTION_TIMEOUT_MS ends while its store is down. */
const ENDED = [OperationState.TIMED_OUT, OperationState.FAILED];

/**
 * GetOperation, bounded waits, and the bulk replay of failed projections, on the local stack: commands and the
 * operations service over real gRPC ports, projection and ranking workers in this process. The store outage is a
 * set of projection workers whose MongoDB cannot be reached (the shared store stays up for everyone else).
 */
describe('Operations: GetOperation, waits and bulk replay of failed projections (real servers)', function () {
  this.timeout(300_000);
  let h: CommandHarness;
  let connection: NativeConnection;
  let projection: RunningWorkers | undefined;
  let ranking: RunningWorkers;
  let server: GrpcServer;
  let ops: ReturnType<typeof grpcClient<typeof OperationsService>>;
  const m: Record<string, string> = {};
  const posts: string[] = [];
  // The failed projections' workflow ids.
  const failedEvents: string[] = [];

  const startProjection = async () => {
    projection = await runProjectionWorkers(connection, h.stores, h.prefix, {}, h.temporal);
  };
  const stopProjection = async () => {
    await projection?.stop();
    projection = undefined;
  };
  const post = async (content: string) => {
    const res = await h.client.createPost({
      authorId: m.ann,
      content,
      visibility: Visibility.PUBLIC,
      postType: PostType.TEXT,
    });
    posts.push(res.postId);
    return res;
  };
  const settled = (id: string) =>
    waitFor(
      async () => {
        const { operation } = await ops.getOperation({ workflowId: id });
        return operation?.state === OperationState.RUNNING ? undefined : operation;
      },
      { message: `${id} closed`, timeoutMs: 120_000 },
    );

  before(async () => {
    h = await startCommandHarness({ PROJECTION_TIMEOUT_MS: String(PROJECTION_TIMEOUT_MS) });
    const config = h.stores.config;
    connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
    await startProjection();
    const graph = createGraph(h.stores.graph, config.GRAPH_DIALECT);
    const deps = { db: h.stores.db, graph, config };
    ranking = await runWorkers(connection, config.TEMPORAL_NAMESPACE, [h.prefix + TASK_QUEUES.ranking], {
      ...createRankingActivities(deps),
      ...createScoringActivities(deps),
    });
    const logger = createLogger('ops-test', 'error');
    server = await startOperationsServer({ config, db: h.stores.db, temporal: h.temporal, logger, port: 0 });
    ops = grpcClient(OperationsService, server.port, 'dev-ops');

    // Ann, connected to Bob and Cat, followed by Dan: each of her public posts reaches four feeds.
    for (const name of ['ann', 'bob', 'cat', 'dan']) m[name] = await h.register(name);
    const done = (r?: { eventId: string }) => h.projected(r?.eventId);
    for (const name of ['bob', 'cat']) {
      const req = await h.client.requestConnection({ requesterId: m[name], addresseeId: m.ann });
      await done(
        (await h.client.respondToConnection({ addresseeId: m.ann, connectionId: req.connectionId, accept: true }))
          .receipt,
      );
    }
    await done((await h.client.follow({ followerId: m.dan, followeeId: m.ann })).receipt);
  });

  after(async () => {
    await server?.close();
    await stopProjection();
    await ranking?.stop();
    await connection?.close();
    await h?.close();
  });

  it('reports a fan-out by id once done, with its items, and refuses malformed or foreign ids', async () => {
    const res = await post('first');
    // By the event id from the command's receipt: the projection's workflow id is stored on the event.
    const op = await settled(res.receipt!.eventId);
    assert.equal(op.workflowId, await h.workflowIdOf(res.receipt!.eventId));
    assert.ok(op.workflowId.startsWith(h.prefix), op.workflowId);
    assert.equal(op.state, OperationState.COMPLETED);
    assert.equal(op.workflowType, 'fanoutPostWorkflow');
    assert.equal(op.kind, 'fanout');
    assert.equal(op.itemsWritten, 4, 'Ann, Bob, Cat and Dan');
    assert.equal(op.error, '');
    assert.ok(op.startTime && op.closeTime && op.closeTime.seconds >= op.startTime.seconds);

    assert.equal(await codeOf(ops.getOperation({ workflowId: '' })), Code.InvalidArgument);
    assert.equal(await codeOf(ops.getOperation({ workflowId: 'no such id!' })), Code.InvalidArgument);
    assert.equal(await codeOf(ops.getOperation({ workflowId: op.workflowId, runId: 'zz' })), Code.InvalidArgument);
    assert.equal(await codeOf(ops.getOperation({ workflowId: `post/${uniqueId('p')}/v1/created` })), Code.NotFound);
    // Another system's workflow on its own queue is not feedflow's to report.
    const foreign = await h.temporal.workflow.start('someoneElsesWorkflow', {
      taskQueue: uniqueId('other-system-'),
      workflowId: uniqueId('other/'),
    });
    try {
      assert.equal(await codeOf(ops.getOperation({ workflowId: foreign.workflowId })), Code.NotFound);
    } finally {
      await foreign.terminate('test finished');
    }
  });

  it('waits for a replay to finish, and answers RUNNING within the wait or the deadline when it cannot', async () => {
    const items = readModel(h.stores.db).feedItems;
    await items.deleteOne({ _id: feedItemId(m.dan, posts[0]) });
    const res = await ops.replayFanout({ postId: posts[0], wait: true });
    assert.equal(res.operation?.state, OperationState.COMPLETED, res.operation?.error);
    assert.equal(res.operation?.itemsWritten, 4);
    assert.ok(await items.findOne({ _id: feedItemId(m.dan, posts[0]) }), 'the replay restored the item');

    const second = await post('second');
    await h.projected(second.receipt?.eventId);
    const third = await post('third');
    await h.projected(third.receipt?.eventId);
    await stopProjection(); // nothing runs the replay until the workers are back
    // A fan-out run under the id every replay of the third post once gave its child, which no worker answers: a
    // progress query on it hangs until its own timeout.
    const stale = await h.temporal.workflow.start(WORKFLOW_TYPES.fanoutPost, {
      taskQueue: h.prefix + TASK_QUEUES.projection,
      workflowId: `replay/post/${third.postId}/v1/fanout`,
      args: [{}],
    });
    try {
      // A 3 s deadline: the wait and the progress query after it both fit inside it, so the answer is RUNNING.
      const deadline = await ops.replayFanout({ postId: third.postId, wait: true }, { timeoutMs: 3_000 });
      assert.equal(deadline.operation?.state, OperationState.RUNNING);
      assert.equal(deadline.operation?.workflowId, `${h.prefix}replay/post/${third.postId}/v1`);

      let t0 = Date.now();
      const bounded = await ops.replayFanout({ postId: second.postId, wait: true, waitSeconds: 1 });
      assert.equal(bounded.operation?.state, OperationState.RUNNING);
      assert.ok(Date.now() - t0 < 3_000, `answered after ${Date.now() - t0} ms`);
      // The call's own deadline bounds the wait too: an answer, not DEADLINE_EXCEEDED.
      t0 = Date.now();
      const rebuild = await ops.rebuildFeed({ userId: m.bob }, { timeoutMs: 4_000 });
      assert.equal(rebuild.operation?.state, OperationState.RUNNING);
      assert.equal(rebuild.items, 0);
      assert.ok(Date.now() - t0 < 4_000, `answered after ${Date.now() - t0} ms`);
    } finally {
      await stale.terminate('test blocker');
      await startProjection();
    }
    const thirdReplay = await settled(`${h.prefix}replay/post/${third.postId}/v1`);
    assert.equal(thirdReplay.state, OperationState.COMPLETED);
    // Its fan-out child is its own, named after the replay run, not the stale one of the old shared id.
    const child = h.temporal.workflow.getHandle(replayChildId(thirdReplay.workflowId, thirdReplay.runId));
    assert.equal((await child.describe()).type, WORKFLOW_TYPES.fanoutPost);
    assert.equal((await child.result()).itemsWritten, 4);
    const replay = await settled(`${h.prefix}replay/post/${second.postId}/v1`);
    assert.equal(replay.state, OperationState.COMPLETED);
    assert.equal(replay.itemsWritten, 4);
    const rebuilt = await settled(`${h.prefix}rebuild/feed/${m.bob}`);
    assert.equal(rebuilt.state, OperationState.COMPLETED);
    assert.equal(rebuilt.kind, 'rebuild');
  });

  it('lists the fan-outs a store outage failed, and replays them in one idempotent batch to exact feeds', async () => {
    // The outage: projection workers whose MongoDB does not answer. Commands are still accepted.
    await stopProjection();
    const config = h.stores.config;
    const down = new MongoClient('mongodb://127.0.0.1:9/', { serverSelectionTimeoutMS: 200 });
    const graph = createGraph(h.stores.graph, config.GRAPH_DIALECT);
    const broken = await runWorkers(
      connection,
      config.TEMPORAL_NAMESPACE,
      [h.prefix + TASK_QUEUES.projection, h.prefix + TASK_QUEUES.priority],
      createProjectionActivities({
        db: down.db(config.MONGODB_DB),
        graph,
        config,
        logger: createLogger('ops-test', 'silent'),
      }),
    );
    const outageStart = new Date();
    try {
      for (let i = 0; i < FAILED_POSTS; i++) {
        failedEvents.push(await h.workflowIdOf((await post(`during the outage ${i}`)).receipt!.eventId));
      }
      for (const id of failedEvents) {
        // The run ends at its bound: timed out, or failed by its activity when the server will not schedule a retry
        // past the bound (the store's error is then the failure).
        const op = await settled(id);
        assert.ok(ENDED.includes(op.state), `state ${op.state}`);
        assert.match(op.error, /workflow execution timed out|topology is closed/i);
      }
    } finally {
      await broken.stop();
      await down.close();
    }
    await startProjection();
    const failedPosts = posts.slice(-FAILED_POSTS);
    for (const p of failedPosts) assert.equal(await readModel(h.stores.db).feedItems.countDocuments({ postId: p }), 0);

    // Listing: paged, and narrowed by kind, post, time window and failure text.
    const list = (filter: object, pageSize = 20, pageToken = '') =>
      ops.listFailedProjections({ filter, pageSize, pageToken });
    const all = await waitFor(
      async () => {
        const res = await list({ kind: 'fanout' });
        return res.projections.length === FAILED_POSTS ? res : undefined;
      },
      { message: 'the failures in visibility' },
    );
    assert.deepEqual(all.projections.map((p) => p.workflowId).sort(), [...failedEvents].sort());
    assert.ok(all.projections.every((p) => ENDED.includes(p.state) && p.kind === 'fanout'));
    const first = await list({ kind: 'fanout' }, 3);
    assert.equal(first.projections.length, 3);
    assert.ok(first.nextPageToken);
    const rest = await list({ kind: 'fanout' }, 3, first.nextPageToken);
    assert.equal(rest.projections.length, 1);
    assert.deepEqual(
      [...first.projections, ...rest.projections].map((p) => p.workflowId).sort(),
      [...failedEvents].sort(),
    );
    assert.equal(await codeOf(list({ kind: 'purge' }, 3, first.nextPageToken)), Code.InvalidArgument);
    assert.equal((await list({ postId: failedPosts[1] })).projections[0]?.workflowId, failedEvents[1]);
    const timedOut = (await list({ failureContains: 'TIMED OUT' })).projections.length;
    const storeDown = (await list({ failureContains: 'topology is closed' })).projections.length;
    assert.equal(timedOut + storeDown, FAILED_POSTS);
    assert.equal((await list({ failureContains: 'store exploded' })).projections.length, 0);
    assert.equal((await list({ kind: 'purge' })).projections.length, 0);
    assert.equal((await list({ closedBefore: timestampFromDate(outageStart) })).projections.length, 0);
    assert.equal(await codeOf(list({ kind: 'nonsense' })), Code.InvalidArgument);
    assert.equal(await codeOf(list({}, 101)), Code.InvalidArgument);
    assert.equal(await codeOf(list({}, 10, 'garbage')), Code.InvalidArgument);

    // A dry run counts and starts nothing.
    const dry = await ops.replayFailedProjections({ filter: { kind: 'fanout' }, dryRun: true });
    assert.deepEqual([dry.matched, dry.workflowId, dry.started], [FAILED_POSTS, '', false]);
    assert.ok(ENDED.includes((await ops.getOperation({ workflowId: failedEvents[0] })).operation!.state));
    assert.equal(await codeOf(ops.replayFailedProjections({ filter: { kind: 'fanout' } })), Code.InvalidArgument);
    assert.equal(
      await codeOf(ops.replayFailedProjections({ requestId: 'x', ratePerSecond: 101 })),
      Code.InvalidArgument,
    );

    // One batch replays them all, two at a time and two a second.
    const req = { filter: { kind: 'fanout' }, requestId: 'incident-1', ratePerSecond: 2, maxConcurrent: 2, wait: true };
    const batch = await ops.replayFailedProjections(req);
    const op = batch.operation as Operation;
    assert.ok(batch.started);
    assert.equal(batch.workflowId.split('/')[0], `${h.prefix}replay-failed`);
    assert.match(batch.workflowId, /\/[0-9a-f]{16}\/incident-1$/);
    assert.equal(op.state, OperationState.COMPLETED, op.error);
    assert.equal(op.kind, 'replay-failed');
    const { matched, replayed, skipped, failed, done } = op.batch!;
    assert.deepEqual(
      { matched, replayed, skipped, failed, done },
      { matched: FAILED_POSTS, replayed: FAILED_POSTS, skipped: 0, failed: 0, done: true },
    );
    assert.equal(op.itemsWritten, FAILED_POSTS * 4);
    assert.equal(batch.matched, FAILED_POSTS);
    for (const id of failedEvents) {
      assert.equal((await ops.getOperation({ workflowId: id })).operation?.state, OperationState.COMPLETED);
    }

    // Exact feeds: every post of Ann's in all four feeds, once, at its version.
    const expected = posts.map((p) => `${p}@1`).sort();
    const feeds = async () =>
      Object.fromEntries(await Promise.all(Object.values(m).map(async (v) => [v, await feedOf(h.stores, v)])));
    const after = await feeds();
    for (const viewer of Object.values(m)) assert.deepEqual(after[viewer], expected, viewer);
    const stamps = async () =>
      (
        await readModel(h.stores.db)
          .feedItems.find({ postId: { $in: failedPosts } })
          .toArray()
      )
        .map((d) => `${d._id}@${d.projectedAt.toISOString()}`)
        .sort();
    const written = await stamps();

    // Replaying again changes nothing: the same call joins its batch, a new one finds nothing left to replay.
    const again = await ops.replayFailedProjections(req);
    assert.deepEqual([again.workflowId, again.started], [batch.workflowId, false]);
    await waitFor(async () => (await list({ kind: 'fanout' })).projections.length === 0, {
      message: 'the replayed runs superseding the failures in visibility',
    });
    const second = await ops.replayFailedProjections({ ...req, requestId: 'incident-1-again' });
    assert.ok(second.started);
    assert.equal(second.operation?.state, OperationState.COMPLETED);
    assert.equal(second.operation?.batch?.matched, 0);
    assert.equal(second.operation?.batch?.replayed, 0);
    assert.deepEqual(await feeds(), after);
    assert.deepEqual(await stamps(), written);
  });

  it('replays the histories of the batches it ran', async () => {
    const query = `WorkflowType = "replayFailedProjectionsWorkflow" AND TaskQueue = "${h.prefix}projection"`;
    const histories = [];
    for await (const wf of h.temporal.workflow.list({ query })) {
      histories.push({
        workflowId: wf.workflowId,
        history: await h.temporal.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory(),
      });
    }
    // The two batches of the test before: this check needs it (with --grep, select both).
    assert.equal(histories.length, 2, 'the replay batches of the failed fan-outs test ran');
    const failures: string[] = [];
    for await (const r of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
      if (r.error) failures.push(`${r.workflowId}: ${String(r.error)}`);
    }
    assert.deepEqual(failures, []);
  });
});
