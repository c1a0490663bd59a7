import { strict as assert } from 'node:assert';
import { Context } from '@temporalio/activity';
import { NativeConnection } from '@temporalio/worker';
import { MongoClient } from 'mongodb';
import { createProjectionActivities } from '../../activities';
import { createOperationsActivities } from '../../activities/operations';
import { createRankingActivities } from '../../activities/ranking';
import { createScoringActivities } from '../../activities/scoring';
import { PostType, Visibility } from '../../gen/feedflow/v1/common_pb';
import { type Operation, OperationState, OperationsService } from '../../gen/feedflow/v1/operations_pb';
import { createLogger } from '../../lib/logger';
import { startMetricsServer } from '../../lib/metrics';
import { TASK_QUEUES } from '../../pipeline/queues';
import { startOperationsServer } from '../../services/operations/server';
import type { GrpcServer } from '../../services/shared/grpc-server';
import { createGraph } from '../../stores/graph';
import { readModel } from '../../stores/read-model';
import { type CommandHarness, startCommandHarness } from '../support/command';
import { grpcClient } from '../support/grpc';
import { feedOf } from '../support/projection';
import { waitFor } from '../support/wait';
import { runWorkers, type RunningWorkers } from '../support/workers';

/** The test deployment's bound: a fan-out failing for longer is stuck. */
const STUCK_AFTER_MS = 3_000;
const STUCK_POSTS = 2;

/**
 * Stuck projections as a state, on the local stack, with no PROJECTION_TIMEOUT_MS: fan-outs whose store does not
 * answer keep retrying as RUNNING workflows; past STUCK_PROJECTION_AFTER_MS, ListFailedProjections lists them with
 * their attempts and last error, `feedflow_projections_stuck` counts them, and ReplayFailedProjections terminates
 * and replays them to exact feeds.
 */
describe('Operations: stuck projections are listed, counted and replayed (real servers)', function () {
  this.timeout(300_000);
  let h: CommandHarness;
  let connection: NativeConnection;
  let projection: RunningWorkers | undefined;
  let ranking: RunningWorkers;
  let server: GrpcServer;
  let metricsServer: Awaited<ReturnType<typeof startMetricsServer>>;
  let ops: ReturnType<typeof grpcClient<typeof OperationsService>>;
  const m: Record<string, string> = {};
  const posts: string[] = [];
  const logger = createLogger('stuck-test', 'silent');

  /**
   * The projection queues' workers: the real activities over the test's stores, except that every activity of a
   * run in `failing` throws as its store would. With the stuck runs in it, only a replay (a new run) can complete
   * them, so the test shows the replay did, not a lucky retry of the old run.
   */
  const startProjection = async (failing = new Set<string>(), db = h.stores.db) => {
    const config = h.stores.config;
    const graph = createGraph(h.stores.graph, config.GRAPH_DIALECT);
    const real = {
      ...createProjectionActivities({ db, graph, config, logger }),
      ...createOperationsActivities({ db: h.stores.db, temporal: h.temporal, config, logger }),
    } as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const gated = Object.fromEntries(
      Object.entries(real).map(([name, fn]) => [
        name,
        async (...args: unknown[]) => {
          if (failing.has(Context.current().info.workflowExecution?.runId ?? '')) throw new Error('store still down');
          return fn(...args);
        },
      ]),
    );
    projection = await runWorkers(
      connection,
      config.TEMPORAL_NAMESPACE,
      [h.prefix + TASK_QUEUES.projection, h.prefix + TASK_QUEUES.priority],
      gated,
    );
  };
  const stopProjection = async () => {
    await projection?.stop();
    projection = undefined;
  };
  const stuckGauge = async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsServer.port}/metrics`)).text();
    return Number(/^feedflow_projections_stuck (\S+)$/m.exec(text)?.[1]);
  };

  before(async () => {
    h = await startCommandHarness({ STUCK_PROJECTION_AFTER_MS: String(STUCK_AFTER_MS) });
    const config = h.stores.config;
    assert.equal(config.PROJECTION_TIMEOUT_MS, 0, 'nothing needs a run bound to see stuck work');
    connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
    await startProjection();
    const graph = createGraph(h.stores.graph, config.GRAPH_DIALECT);
    const deps = { db: h.stores.db, graph, config };
    ranking = await runWorkers(connection, config.TEMPORAL_NAMESPACE, [h.prefix + TASK_QUEUES.ranking], {
      ...createRankingActivities(deps),
      ...createScoringActivities(deps),
    });
    server = await startOperationsServer({ config, db: h.stores.db, temporal: h.temporal, logger, port: 0 });
    metricsServer = await startMetricsServer(0);
    ops = grpcClient(OperationsService, server.port, 'dev-ops');
    // Ann, followed by Bob and Dan: each of her public posts reaches three feeds.
    for (const name of ['ann', 'bob', 'dan']) m[name] = await h.register(name);
    for (const name of ['bob', 'dan']) {
      await h.projected((await h.client.follow({ followerId: m[name], followeeId: m.ann })).receipt?.eventId);
    }
  });

  after(async () => {
    await metricsServer?.close();
    await server?.close();
    await stopProjection();
    await ranking?.stop();
    await connection?.close();
    await h?.close();
  });

  it('lists and counts fan-outs failing past the bound, and replays them to exact feeds with no duplicates', async () => {
    // The outage: projection workers whose MongoDB does not answer. Commands are still accepted.
    await stopProjection();
    const down = new MongoClient('mongodb://127.0.0.1:9/', { serverSelectionTimeoutMS: 200 });
    // The projections' workflow ids.
    const events: string[] = [];
    try {
      await startProjection(new Set(), down.db(h.stores.config.MONGODB_DB));
      for (let i = 0; i < STUCK_POSTS; i++) {
        const res = await h.client.createPost({
          authorId: m.ann,
          content: `during the outage ${i}`,
          visibility: Visibility.PUBLIC,
          postType: PostType.TEXT,
        });
        posts.push(res.postId);
        events.push(await h.workflowIdOf(res.receipt!.eventId));
      }
      await h.server.drain();

      const listed = await waitFor(
        async () => {
          const res = await ops.listFailedProjections({ filter: { kind: 'fanout' } });
          const stuck = res.projections.filter((p) => p.attempts >= 2);
          return stuck.length === STUCK_POSTS ? res.projections : undefined;
        },
        { message: 'the fan-outs listed as stuck', timeoutMs: 120_000 },
      );
      assert.deepEqual(listed.map((p) => p.workflowId).sort(), [...events].sort());
      for (const p of listed) {
        assert.equal(p.state, OperationState.RUNNING);
        assert.equal(p.kind, 'fanout');
        assert.ok(p.attempts >= 2, `attempts ${p.attempts}`);
        assert.match(p.failure, /failing: .*(ECONNREFUSED|127\.0\.0\.1:9|topology|server selection)/i);
        assert.equal(p.closeTime, undefined);
      }
      assert.equal(
        (await ops.listFailedProjections({ filter: { postId: posts[1] } })).projections[0]?.workflowId,
        events[1],
      );
      assert.equal(
        (await ops.listFailedProjections({ filter: { failureContains: 'failing:' } })).projections.length,
        2,
      );
      assert.equal((await ops.listFailedProjections({ filter: { kind: 'purge' } })).projections.length, 0);
      const dry = await ops.replayFailedProjections({ filter: { kind: 'fanout' }, dryRun: true });
      assert.equal(dry.matched, STUCK_POSTS);
      assert.equal((await ops.getOperation({ workflowId: events[0] })).operation?.state, OperationState.RUNNING);
      assert.equal(await stuckGauge(), STUCK_POSTS);

      // A deployment with the default bound (minutes) does not call these young runs stuck.
      const patient = await startOperationsServer({
        config: { ...h.stores.config, STUCK_PROJECTION_AFTER_MS: 180_000 },
        db: h.stores.db,
        temporal: h.temporal,
        logger,
        port: 0,
      });
      try {
        const res = await grpcClient(OperationsService, patient.port, 'dev-ops').listFailedProjections({});
        assert.equal(res.projections.length, 0);
        assert.equal(await stuckGauge(), 0);
      } finally {
        await patient.close();
      }
    } finally {
      await stopProjection();
      await down.close();
    }

    // The store is back; the stuck runs themselves keep failing, so only their replay can complete them.
    const stuckRuns = await Promise.all(
      events.map(async (id) => (await h.temporal.workflow.getHandle(id).describe()).runId),
    );
    await startProjection(new Set(stuckRuns));
    const batch = await ops.replayFailedProjections({
      filter: { kind: 'fanout' },
      requestId: 'stuck-1',
      wait: true,
      waitSeconds: 60,
    });
    const op = batch.operation as Operation;
    assert.equal(op.state, OperationState.COMPLETED, op.error);
    const { matched, replayed, skipped, failed } = op.batch!;
    assert.deepEqual(
      { matched, replayed, skipped, failed },
      { matched: STUCK_POSTS, replayed: STUCK_POSTS, skipped: 0, failed: 0 },
    );
    assert.equal(op.itemsWritten, STUCK_POSTS * 3);
    for (const [i, id] of events.entries()) {
      const old = await h.temporal.workflow.getHandle(id, stuckRuns[i]).describe();
      assert.equal(old.status.name, 'TERMINATED', 'the stuck run was terminated before its replay');
      assert.equal((await ops.getOperation({ workflowId: id })).operation?.state, OperationState.COMPLETED);
    }

    // Exact feeds: each of Ann's posts once in each of the three feeds, at its version; nothing stuck is left.
    const expected = posts.map((p) => `${p}@1`).sort();
    for (const viewer of Object.values(m)) assert.deepEqual(await feedOf(h.stores, viewer), expected, viewer);
    assert.equal(await readModel(h.stores.db).feedItems.countDocuments({ postId: { $in: posts } }), STUCK_POSTS * 3);
    assert.equal((await ops.listFailedProjections({ filter: { kind: 'fanout' } })).projections.length, 0);
    assert.equal(await stuckGauge(), 0);
  });
});
