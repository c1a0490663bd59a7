/**
 * `npm run bench:consistency`: what the recent-events check costs, and what it does to the pipeline, in one run on
 * the local stack. A benchmark, not a test: it prints numbers.
 *
 * - Cost: back-to-back check runs over the run's events, in events checked per second.
 * - Effect: write→read lag (CreatePost accepted over gRPC → the item in a follower's `feed_items`) over the same
 *   number of posts with the checks paused and with them running continuously, p50/p99 and the ratio.
 *
 * Workers (projection, priority, operations activities) and the command server run in this process, on a private
 * database and task-queue prefix. No ranking worker runs, so score checks are off (an unbounded scoring window).
 * Environment: BENCH_AUTHORS (20), BENCH_FOLLOWERS (100 per author), BENCH_LAG_POSTS (40 per phase).
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { createProjectionActivities } from '../activities';
import { createOperationsActivities } from '../activities/operations';
import { createCommandClient, PostType, Visibility } from '../client';
import type { ConsistencyReport } from '../domain/findings';
import { feedItemId } from '../domain/ids';
import { connectGraph, connectMongo, connectTemporal } from '../lib/clients';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { exitOnFailure } from '../lib/main';
import type { ConsistencyCheckInput } from '../pipeline/contracts/operations';
import { TASK_QUEUES } from '../pipeline/queues';
import { startCommandServer } from '../services/command/server';
import { createGraph } from '../stores/graph';
import { percentile } from '../stores/projection-lag';
import { ensureQueryIndexes } from '../stores/pushdown';
import { ensureReadModelIndexes, readModel } from '../stores/read-model';
import { loadWorkflowBundle } from '../workers/bundle';
import { consistencyCheckWorkflow } from '../workflows/consistency-check';

const AUTHORS = Number(process.env.BENCH_AUTHORS ?? 20);
const FOLLOWERS = Number(process.env.BENCH_FOLLOWERS ?? 100);
const LAG_POSTS = Number(process.env.BENCH_LAG_POSTS ?? 40);
const POLL_MS = 10;

async function main(): Promise<void> {
  const prefix = `benchc${Date.now().toString(36)}-`;
  const config = loadConfig({
    ...process.env,
    MONGODB_DB: 'feedflow_bench_consistency',
    TASK_QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    RATE_LIMITS_ENABLED: 'false',
  });
  const logger = createLogger('bench', 'warn');
  const { mongo, db } = await connectMongo(config);
  await db.dropDatabase();
  const driver = connectGraph(config);
  const graph = createGraph(driver, config.GRAPH_DIALECT);
  await Promise.all([ensureReadModelIndexes(db), graph.ensureSchema()]);
  await ensureQueryIndexes(db, config);
  const temporal = await connectTemporal(config);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const activities = {
    ...createProjectionActivities({ db, graph, config, logger }),
    ...createOperationsActivities({ db, temporal, config, logger }),
  };
  const workflowBundle = await loadWorkflowBundle();
  const workers = await Promise.all(
    [TASK_QUEUES.projection, TASK_QUEUES.priority].map((q) =>
      Worker.create({
        connection,
        namespace: config.TEMPORAL_NAMESPACE,
        taskQueue: prefix + q,
        workflowBundle,
        activities,
      }),
    ),
  );
  const running = workers.map((w) => w.run());
  const server = await startCommandServer({ config, db, temporal, logger, port: 0 });
  const commands = createCommandClient({ address: `127.0.0.1:${server.port}`, token: 'dev-commands' });

  // Authors register through the API; their followers are seeded straight into the graph.
  const authors: string[] = [];
  const firstFollower = new Map<string, string>();
  const seeded: string[] = [];
  for (let a = 0; a < AUTHORS; a++) {
    const { userId } = await commands.registerUser({
      email: `${prefix}a${a}@bench.feedflow.dev`,
      displayName: `A${a}`,
    });
    authors.push(userId);
    const followers = Array.from({ length: FOLLOWERS }, (_, i) => `${userId}-f${String(i).padStart(5, '0')}`);
    await graph.syncEdges(
      followers.map((f) => ({ kind: 'FOLLOWS' as const, from: f, to: userId, active: true, version: 1 })),
    );
    firstFollower.set(userId, followers[0]);
    seeded.push(userId, ...followers);
  }
  console.log(`# seeded ${AUTHORS} authors with ${FOLLOWERS} followers each (prefix ${prefix})`);

  const items = readModel(db).feedItems;
  let n = 0;
  /** Posts one at a time, each waited for in a follower's feed; returns write→read lags in ms. */
  async function lagPhase(): Promise<number[]> {
    const lags: number[] = [];
    for (let i = 0; i < LAG_POSTS; i++) {
      const author = authors[n++ % authors.length];
      const t0 = performance.now();
      const { postId } = await commands.createPost({
        authorId: author,
        content: `bench post ${n}`,
        visibility: Visibility.PUBLIC,
        postType: PostType.TEXT,
      });
      const _id = feedItemId(firstFollower.get(author)!, postId);
      while (!(await items.findOne({ _id }, { projection: { _id: 1 } }))) {
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
      lags.push(performance.now() - t0);
    }
    return lags.sort((a, b) => a - b);
  }

  const check: ConsistencyCheckInput = {
    scope: 'recent',
    windowMs: 3_600_000,
    // As deployed: events younger than this are still projecting, not drift.
    settleMs: config.CONSISTENCY_SETTLE_MS,
    scoreWindowMs: Number.MAX_SAFE_INTEGER,
  };
  const runCheck = async (): Promise<{ report: ConsistencyReport; ms: number }> => {
    const t0 = performance.now();
    const report = await temporal.workflow.execute(consistencyCheckWorkflow, {
      taskQueue: prefix + TASK_QUEUES.projection,
      workflowId: `${prefix}consistency/recent/${Date.now()}`,
      args: [check],
    });
    return { report, ms: performance.now() - t0 };
  };

  const paused = await lagPhase();
  console.log(`# lag with checks paused measured over ${paused.length} posts`);

  const runs: Array<{ report: ConsistencyReport; ms: number }> = [];
  let stop = false;
  const loop = (async () => {
    while (!stop) runs.push(await runCheck());
  })();
  const checking = await lagPhase();
  stop = true;
  await loop;
  console.log(`# lag with checks running measured over ${checking.length} posts, ${runs.length} check runs`);

  const events = runs.reduce((s, r) => s + r.report.eventsChecked, 0);
  const secs = runs.reduce((s, r) => s + r.ms, 0) / 1000;
  const found = runs.reduce((s, r) => s + r.report.found, 0);
  const byKind = new Map<string, number>();
  for (const r of runs) for (const c of r.report.counts) byKind.set(c.kind, (byKind.get(c.kind) ?? 0) + c.found);
  const kinds = [...byKind].filter(([, n]) => n).map(([k, n]) => `${k} ${n}`);
  const row = (name: string, l: number[]) =>
    console.log(`| ${name} | ${l.length} | ${percentile(l, 50).toFixed(0)} | ${percentile(l, 99).toFixed(0)} |`);
  console.log(
    `\n# ${AUTHORS} authors × ${FOLLOWERS} followers; check window 1 h, settle ${config.CONSISTENCY_SETTLE_MS} ms, score checks off`,
  );
  console.log('| write→read lag | posts | p50 ms | p99 ms |');
  console.log('|---|---|---|---|');
  row('checks paused', paused);
  row('checks running back to back', checking);
  console.log(
    `\nlag ratio running/paused: p50 ${(percentile(checking, 50) / percentile(paused, 50)).toFixed(2)}, ` +
      `p99 ${(percentile(checking, 99) / percentile(paused, 99)).toFixed(2)}`,
  );
  console.log(
    `check cost: ${runs.length} runs, ${events} events checked in ${secs.toFixed(1)} s = ` +
      `${(events / secs).toFixed(1)} events/s (${(secs / runs.length).toFixed(2)} s per run); findings ${found}` +
      (kinds.length ? ` (${kinds.join(', ')})` : ''),
  );

  await server.close();
  for (const w of workers) w.shutdown();
  await Promise.all(running);
  await connection.close();
  await temporal.connection.close();
  await graph.removeUsers(seeded);
  await driver.close();
  await db.dropDatabase();
  await mongo.close();
}

exitOnFailure(main());
