import { strict as assert } from 'node:assert';
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createRankingActivities } from '../../activities/ranking';
import { createScoringActivities } from '../../activities/scoring';
import { EngagementKind, PostType, Visibility } from '../../gen/feedflow/v1/common_pb';
import type { ModelRolloutResult, RescorePostResult } from '../../pipeline/contracts/ranking';
import { TASK_QUEUES } from '../../pipeline/queues';
import { RANKING_WORKFLOW_TYPES } from '../../pipeline/registry';
import { PROVISIONAL_SCORES } from '../../ranking/provisional';
import { type FeedItemDoc, readModel } from '../../stores/read-model';
import { writeModel } from '../../stores/write-model';
import { historyFromFixture, historyToFixture, workflowBundle } from '../support/bundle';
import { type CommandHarness, startCommandHarness } from '../support/command';
import { uniqueId } from '../support/env';
import { seedAudience, seedPost, startFanout } from '../support/projection';
import { waitFor } from '../support/wait';
import { runProjectionWorkers, runWorkers, type RunningWorkers } from '../support/workers';

const FIXTURES = resolve(__dirname, '../fixtures/histories');
const DEBOUNCE_MS = 1_000;
const PAGE_SIZE = 100;

/**
 * Ranking wired into the projection pipeline, end to end on the local stack: commands over gRPC, the projection
 * workers and the ranking worker in this process with the real activities and the real model. Set RECORD_HISTORIES=1
 * to re-record the ranking workflows' replay fixtures from these runs.
 */
describe('Ranking in the projection pipeline (real workers, real model)', function () {
  this.timeout(240_000);
  let h: CommandHarness;
  let connection: NativeConnection;
  let projection: RunningWorkers & { graph: Awaited<ReturnType<typeof runProjectionWorkers>>['graph'] };
  let ranking: RunningWorkers;

  before(async () => {
    h = await startCommandHarness({ FANOUT_PAGE_SIZE: String(PAGE_SIZE), RESCORE_DEBOUNCE_MS: String(DEBOUNCE_MS) });
    connection = await NativeConnection.connect({ address: h.stores.config.TEMPORAL_ADDRESS });
    projection = await runProjectionWorkers(connection, h.stores, h.prefix);
    const deps = { db: h.stores.db, graph: projection.graph, config: h.stores.config };
    ranking = await runWorkers(connection, h.stores.config.TEMPORAL_NAMESPACE, [h.prefix + TASK_QUEUES.ranking], {
      ...createRankingActivities(deps),
      ...createScoringActivities(deps),
    });
  });
  after(async () => {
    await ranking?.stop();
    await projection?.stop();
    await connection?.close();
    await h?.close();
  });

  const items = (postId: string) => readModel(h.stores.db).feedItems.find({ postId }).toArray();
  const allScored = (docs: FeedItemDoc[], n: number, since = new Date(0)) =>
    docs.length === n && docs.every((d) => d.modelVersion !== null && d.scoredAt && d.scoredAt > since)
      ? docs
      : undefined;

  /**
   * A scenario runs at most once per suite: its test asserts on what it returns, and the replay check runs whichever
   * scenarios a filter (`--grep`) left out, so it never depends on the tests before it.
   */
  const once = <T>(run: () => Promise<T>): (() => Promise<T>) => {
    let result: Promise<T> | undefined;
    return () => (result ??= run());
  };

  /** A post fanned out to three pages of followers, every item scored by the model. */
  const pagedFanout = once(async () => {
    const author = uniqueId('rank');
    const audience = await seedAudience(projection.graph, author, 2 * PAGE_SIZE + 37);
    const input = await seedPost(h.stores, author);
    const fanout = await startFanout(h.temporal, h.prefix, input);
    await fanout.result();
    // Scoring runs on its own queue behind the fan-out; give a loaded 2-core machine room.
    const scored = await waitFor(async () => allScored(await items(input.postId!), 1 + audience.length), {
      message: 'every item scored',
      timeoutMs: 90_000,
    });
    const history = await fanout.fetchHistory();
    await projection.graph.removeUsers([author, ...audience]);
    return { input, scored, history };
  });

  /** A connected post's first scores, then an engagement burst and the scores after it. */
  const engagementBurst = once(async () => {
    const c = h.client;
    const ann = await h.register('Ann');
    const members = await Promise.all(['Bob', 'Cat', 'Dan', 'Eve', 'Fay', 'Gus'].map((n) => h.register(n)));
    for (const m of members) {
      const req = await c.requestConnection({ requesterId: ann, addresseeId: m });
      await c.respondToConnection({ addresseeId: m, connectionId: req.connectionId, accept: true });
    }
    const { postId } = await c.createPost({
      authorId: ann,
      content: 'A longer post about ranking, worth engaging with.',
      visibility: Visibility.PUBLIC,
      postType: PostType.TEXT,
    });
    const before = await waitFor(async () => allScored(await items(postId), 1 + members.length), {
      message: 'first scores',
      timeoutMs: 90_000,
    });

    const burstAt = new Date();
    await Promise.all(
      members.flatMap((m, i) => [
        c.recordEngagement({ userId: m, postId, kind: EngagementKind.LIKE }),
        ...(i % 2 ? [] : [c.recordEngagement({ userId: m, postId, kind: EngagementKind.COMMENT, comment: 'Nice' })]),
        ...(i % 3 ? [] : [c.recordEngagement({ userId: m, postId, kind: EngagementKind.SHARE })]),
      ]),
    );
    const after = await waitFor(async () => allScored(await items(postId), 1 + members.length, burstAt), {
      message: 'scores after the burst',
      timeoutMs: DEBOUNCE_MS + 15_000,
    });
    const elapsed = Date.now() - burstAt.getTime();
    const rescoreId = `${h.prefix}rescore/post/${postId}`;
    const rescore = (await h.temporal.workflow.getHandle(rescoreId).result()) as RescorePostResult;
    const engagement = await writeModel(h.stores.db).events.findOne({ type: 'EngagementRecorded' });
    return { postId, before, after, elapsed, rescoreId, rescore, engagementId: engagement!.workflowId! };
  });

  /** A model rollout over the engaged post's items, five of them set back to an older model version. */
  const rollout = once(async () => {
    const { postId } = await engagementBurst();
    const rm = readModel(h.stores.db);
    const model = await createRankingActivities({ db: h.stores.db }).modelVersion();
    const stale = await rm.feedItems
      .find({ postId }, { projection: { _id: 1 } })
      .limit(5)
      .toArray();
    for (const { _id } of stale) await rm.feedItems.updateOne({ _id }, { $set: { modelVersion: 'engagement-v0' } });
    const total = await rm.feedItems.countDocuments({});
    const workflowId = `rollout/model/${model}/${uniqueId('t')}`;
    const result = (await h.temporal.workflow.execute('modelRolloutWorkflow', {
      taskQueue: h.prefix + TASK_QUEUES.ranking,
      workflowId,
      args: [{ modelVersion: model, postsPerPage: 2, pauseMs: 10 }],
    })) as ModelRolloutResult;
    return { stale, total, workflowId, result };
  });

  it('scores every item of a paged fan-out with the model, after a provisional score on its scale', async () => {
    const { input, scored, history } = await pagedFanout();
    const model = await createRankingActivities({ db: h.stores.db }).modelVersion();
    for (const d of scored) {
      assert.equal(d.modelVersion, model);
      assert.ok(d.score > 0 && d.score < 1, `score ${d.score} is a probability`);
    }
    // One scoring per written range, handed to the ranking queue (not as children): the first page (with the
    // author's own item), then one per slice.
    assert.equal(history.events!.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).length, 0);
    const ranges = [0, 1].map((p) => `${h.prefix}score/post/${input.postId}/v1/p${p}`);
    for (const id of ranges) {
      const desc = await h.temporal.workflow.getHandle(id).describe();
      assert.equal(desc.taskQueue, h.prefix + TASK_QUEUES.ranking);
    }
  });

  it('writes provisional scores on the model scale, by relationship', () => {
    assert.ok(PROVISIONAL_SCORES.connection > PROVISIONAL_SCORES.follow);
    for (const s of Object.values(PROVISIONAL_SCORES)) assert.ok(s > 0 && s < 1);
  });

  it('raises a post’s scores within the debounce interval after an engagement burst, coalescing the marks', async () => {
    const { before, after, elapsed, rescore } = await engagementBurst();
    const scoreBefore = new Map(before.map((d) => [d.viewerId, d.score]));
    for (const d of after) {
      assert.ok(d.score > scoreBefore.get(d.viewerId)!, `${d.viewerId}: ${scoreBefore.get(d.viewerId)} → ${d.score}`);
    }
    assert.ok(elapsed >= DEBOUNCE_MS, `re-scored after ${elapsed} ms, before the debounce interval`);
    // Every engagement marked the post; the marks of the burst coalesced into at most two passes.
    assert.ok(rescore.passes >= 1 && rescore.passes <= 2, `${rescore.passes} passes`);
  });

  it('rolls a model version out over existing items, leaving items of that version alone', async () => {
    const { stale, total, result } = await rollout();
    const rm = readModel(h.stores.db);
    assert.ok(stale.length > 0, 'the rollout has stale items to re-score');
    assert.equal(result.written, stale.length, `${result.written} of ${total} items re-scored`);
    assert.equal(await rm.feedItems.countDocuments({ modelVersion: 'engagement-v0' }), 0);
  });

  it('scores the items a backfill delivers when members connect after posting', async () => {
    const c = h.client;
    const [ivy, joe] = [await h.register('Ivy'), await h.register('Joe')];
    const posts: string[] = [];
    for (const content of ['Before we met, one.', 'Before we met, two.']) {
      const res = await c.createPost({
        authorId: ivy,
        content,
        visibility: Visibility.CONNECTIONS,
        postType: PostType.TEXT,
      });
      posts.push(res.postId);
      // The fan-outs finish before the connection, so Joe gets these posts by backfill only.
      await h.projected(res.receipt?.eventId);
    }
    const req = await c.requestConnection({ requesterId: joe, addresseeId: ivy });
    await c.respondToConnection({ addresseeId: ivy, connectionId: req.connectionId, accept: true });
    const model = await createRankingActivities({ db: h.stores.db }).modelVersion();
    const rm = readModel(h.stores.db);
    const backfilled = await waitFor(
      async () => {
        const docs = await rm.feedItems.find({ viewerId: joe, postId: { $in: posts } }).toArray();
        return docs.length === posts.length && docs.every((d) => d.modelVersion === model) ? docs : undefined;
      },
      { message: 'backfilled items scored', timeoutMs: 90_000 },
    );
    for (const d of backfilled) {
      assert.equal(d.reason, 'backfill');
      assert.ok(d.score > 0 && d.score < 1, `score ${d.score} is a probability`);
    }
  });

  it('replays the ranking workflows and the scoring fan-out and engagement deterministically', async function () {
    // Runs the scenarios a filter left out, so the check stands on its own: give it their time too.
    this.timeout(480_000);
    const [fanout, burst, rolled] = [await pagedFanout(), await engagementBurst(), await rollout()];
    const recorded = new Map([
      ['scoreFeedItemsWorkflow', `${h.prefix}score/post/${fanout.input.postId}/v1/p1`],
      ['fanoutPostWorkflow', fanout.input.eventId],
      ['rescorePostWorkflow', burst.rescoreId],
      ['engagementWorkflow', burst.engagementId],
      ['modelRolloutWorkflow', rolled.workflowId],
    ]);
    const live = await Promise.all(
      [...recorded].map(async ([type, workflowId]) => ({
        type,
        workflowId,
        history: await h.temporal.workflow.getHandle(workflowId).fetchHistory(),
      })),
    );
    if (process.env.RECORD_HISTORIES) {
      for (const { type, history } of live) {
        if ((RANKING_WORKFLOW_TYPES as readonly string[]).includes(type)) {
          await writeFile(resolve(FIXTURES, `${type}.json`), historyToFixture(history));
        }
      }
    }
    const fixtures = await Promise.all(
      RANKING_WORKFLOW_TYPES.map(async (type) => ({
        workflowId: `fixture-${type}`,
        history: historyFromFixture(await readFile(resolve(FIXTURES, `${type}.json`), 'utf8')),
      })),
    );
    const failures: string[] = [];
    const histories = [...live, ...fixtures];
    for await (const r of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
      if (r.error) failures.push(`${r.workflowId}: ${String(r.error)}`);
    }
    assert.deepEqual(failures, []);
  });
});
