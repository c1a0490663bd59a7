import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { Context } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createProjectionActivities } from '../../activities';
import { createRankingActivities } from '../../activities/ranking';
import { createScoringActivities } from '../../activities/scoring';
import { Visibility } from '../../gen/feedflow/v1/common_pb';
import { FeedView } from '../../gen/feedflow/v1/feed_pb';
import { createLogger } from '../../lib/logger';
import { startMetricsServer } from '../../lib/metrics';
import { TASK_QUEUES } from '../../pipeline/queues';
import { createGraph } from '../../stores/graph';
import { ensureReadModelIndexes, readModel } from '../../stores/read-model';
import { activityInterceptors, temporalLogger } from '../../workers/observability';
import { workflowBundle } from '../support/bundle';
import { uniqueId } from '../support/env';
import { startQueryHarness, type QueryHarness } from '../support/query';
import { waitFor } from '../support/wait';

const ROOT = resolve(__dirname, '../..');

/** Sums the samples of a metric whose labels include `labels`, from Prometheus text exposition. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-z_:][a-z0-9_:]*)(?:\{(.*)\})? (\S+)$/i.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

/** A pino logger whose JSON lines land in `lines`. */
function capturingLogger(lines: Array<Record<string, unknown>>) {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return createLogger('metrics-test', 'debug', sink);
}

describe('Prometheus metrics and structured logs (real servers and workers)', function () {
  this.timeout(240_000);
  let h: QueryHarness;
  let connection: NativeConnection;
  let workers: Worker[] = [];
  let running: Array<Promise<void>> = [];
  let metricsServer: Awaited<ReturnType<typeof startMetricsServer>>;

  before(async () => {
    // Correctness, not speed: reads wait up to 20 s for their token on a loaded machine.
    h = await startQueryHarness({ CONSISTENCY_MAX_WAIT_MS: '20000' });
    connection = await NativeConnection.connect({ address: h.stores.config.TEMPORAL_ADDRESS });
    const { db, config } = h.stores;
    const graph = createGraph(h.stores.graph, config.GRAPH_DIALECT);
    await Promise.all([ensureReadModelIndexes(db), graph.ensureSchema()]);
    const logger = createLogger('metrics-test', 'silent');
    const projection = createProjectionActivities({ db, graph, config, logger });
    const ranking = { ...createRankingActivities({ db }), ...createScoringActivities({ db, graph, config }) };
    const bundle = await workflowBundle();
    const queues: Array<[string, object]> = [
      [TASK_QUEUES.projection, projection],
      [TASK_QUEUES.priority, projection],
      [TASK_QUEUES.ranking, ranking],
    ];
    workers = await Promise.all(
      queues.map(([queue, activities]) =>
        Worker.create({
          connection,
          namespace: config.TEMPORAL_NAMESPACE,
          taskQueue: h.prefix + queue,
          workflowBundle: bundle,
          activities,
          interceptors: { activity: [activityInterceptors(logger)] },
        }),
      ),
    );
    running = workers.map((w) => w.run());
    metricsServer = await startMetricsServer(0);
  });
  after(async () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await Promise.all(running);
    await metricsServer?.close();
    await connection?.close();
    await h?.close();
  });

  it('serves every pipeline metric on /metrics after a workload of commands, projections, scoring and reads', async () => {
    const before = await scrape(metricsServer.port);
    const c = h.client;
    const t = (r: { receipt?: { consistencyToken: string } }) => r.receipt!.consistencyToken;
    const read = (viewerId: string, minConsistencyToken = '') =>
      h.feed.getFeed({ viewerId, pageSize: 20, view: FeedView.V3_PERSONALIZED, minConsistencyToken });
    const caughtUp = async (viewerId: string, token: string) =>
      assert.equal((await read(viewerId, token)).stale, false);

    const [ann, bob, cat, dan] = await Promise.all(['Ann', 'Bob', 'Cat', 'Dan'].map((n) => h.register(n)));
    const req = await c.requestConnection({ requesterId: ann, addresseeId: bob });
    const acc = await c.respondToConnection({ addresseeId: bob, connectionId: req.connectionId, accept: true });
    const fol = await c.follow({ followerId: cat, followeeId: ann });
    // The relationships land first, so the post reaches Bob and Cat by fan-out.
    await caughtUp(bob, t(acc));
    await caughtUp(cat, t(fol));
    const post = await c.createPost({ authorId: ann, content: 'Metrics!', visibility: Visibility.PUBLIC, postType: 1 });
    for (const viewerId of [ann, bob, cat]) await caughtUp(viewerId, t(post));
    // Dan follows after the post: he gets it by backfill.
    await caughtUp(dan, t(await c.follow({ followerId: dan, followeeId: ann })));
    // Plain reads go through the session cache. Bob and Dan may hit L1 (their token reads built sessions) or miss
    // it (a scoring invalidated them since); Eve never had a session, so her first read misses L1 and L2.
    const eve = await h.register('Eve');
    for (const viewerId of [bob, dan, eve, eve]) await read(viewerId);
    await waitFor(
      async () => {
        const items = await readModel(h.stores.db).feedItems.find({ postId: post.postId }).toArray();
        return items.length === 4 && items.every((i) => i.modelVersion !== null) ? items : undefined;
      },
      { message: 'the post scored in all four feeds', timeoutMs: 120_000 },
    );
    // One outbox sweep publishes the pending gauge (nothing is pending: every command completed its event).
    await h.server.sweep(60_000);

    const after = await scrape(metricsServer.port);
    const grew = (name: string, labels: Record<string, string> = {}, by = 1) => {
      const delta = sample(after, name, labels) - sample(before, name, labels);
      assert.ok(delta >= by, `${name}${JSON.stringify(labels)} grew by ${delta}, expected at least ${by}`);
    };
    const rpc = 'feedflow_rpc_duration_seconds_count';
    grew(rpc, { service: 'feedflow.v1.CommandService', method: 'CreatePost', code: 'OK' });
    grew(rpc, { service: 'feedflow.v1.FeedService', method: 'GetFeed', code: 'OK' }, 9);
    grew('feedflow_feed_cache_requests_total', { level: 'l1' }, 4);
    grew('feedflow_feed_cache_requests_total', { level: 'l2' });
    grew('feedflow_projection_lag_seconds_count', { stage: 'projected' }, 4);
    grew('feedflow_projection_lag_seconds_count', { stage: 'scored' }, 4);
    grew('feedflow_fanout_items_written_total', { operation: 'fanout' }, 3);
    grew('feedflow_fanout_items_written_total', { operation: 'backfill' }, 1);
    grew('feedflow_scoring_batch_seconds_count');
    // Every projected item over the 50 ms target is one breach, at its worst level: the breaches that grew are
    // exactly the projected-lag observations above the histogram's 0.05 s bucket.
    const delta = (name: string, labels: Record<string, string> = {}) =>
      sample(after, name, labels) - sample(before, name, labels);
    const overTarget =
      delta('feedflow_projection_lag_seconds_count', { stage: 'projected' }) -
      delta('feedflow_projection_lag_seconds_bucket', { stage: 'projected', le: '0.05' });
    assert.equal(delta('feedflow_projection_lag_breaches_total'), overTarget);
    for (const family of [
      'feedflow_projection_lag_breaches_total',
      'feedflow_outbox_pending_events',
      'feedflow_consistency_findings_total',
      'feedflow_consistency_repairs_total',
      'feedflow_consistency_repair_failures_total',
    ]) {
      assert.match(after, new RegExp(`^# TYPE ${family} `, 'm'), `${family} is exposed`);
    }
  });

  it('names the workflow, activity, attempt and post on every line an activity logs', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = capturingLogger(lines);
    const env = new MockActivityEnvironment(
      {
        activityType: 'startFanout',
        workflowType: 'fanoutPostWorkflow',
        workflowExecution: { workflowId: 'post/p1/v1/created', runId: 'run' },
        attempt: 2,
      },
      { interceptors: [activityInterceptors(logger)], logger: temporalLogger(logger) },
    );
    const input = { eventId: 'post/p1/v1/created', postId: 'p1', viewerId: 'v1', acceptedAt: new Date().toISOString() };
    await env.run(async (_input: typeof input) => {
      logger.info('from the projection logger');
      Context.current().log.info('from the SDK logger');
      return { written: 2 };
    }, input);
    await assert.rejects(
      env.run(async (_input: typeof input) => {
        throw new Error('store unavailable');
      }, input),
    );

    const byMsg = (msg: string) => lines.find((l) => l.msg === msg);
    for (const msg of ['activity started', 'from the projection logger', 'activity completed', 'activity failed']) {
      const line = byMsg(msg);
      assert.ok(line, `logged "${msg}"`);
      assert.deepEqual(
        [line.workflowId, line.workflowType, line.activityType, line.attempt, line.postId, line.viewerId],
        ['post/p1/v1/created', 'fanoutPostWorkflow', 'startFanout', 2, 'p1', 'v1'],
        msg,
      );
    }
    const sdk = byMsg('from the SDK logger');
    assert.equal(sdk?.postId, 'p1');
    assert.equal(sdk?.workflowId, 'post/p1/v1/created');
    assert.equal((byMsg('activity failed')?.err as { message?: string })?.message, 'store unavailable');
    assert.equal(
      lines.filter((l) => typeof l.msg === 'string' && /^Activity (started|completed|failed)$/.test(l.msg)).length,
      0,
      'the SDK lifecycle lines are not written twice',
    );
  });

  it('serves /metrics from a projection worker process on its configured port', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', 'workers/priority.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        MONGODB_DB: h.stores.config.MONGODB_DB,
        TASK_QUEUE_PREFIX: uniqueId('metrics-child-') + '-',
        PRIORITY_WORKER_METRICS_PORT: String(port),
        SCHEDULES_ENABLED: 'false',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const started = await firstLine(child, (l) => l.msg === 'worker started', 120_000);
      assert.equal(started.process, 'worker-priority');
      assert.equal(started.metricsPort, port);
      const text = await scrape(port);
      assert.match(text, /^# TYPE feedflow_fanout_items_written_total counter$/m);
      assert.match(text, /^feedflow_process_nodejs_version_info\{/m);
      const exit = await stop(child);
      assert.deepEqual(exit, { code: 0, signal: null }, 'SIGTERM shuts the worker down and closes /metrics');
    } finally {
      await stop(child);
    }
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  await new Promise((ok) => server.close(ok));
  return port;
}

/** The first JSON log line on the child's stdout that matches. */
async function firstLine(
  child: ChildProcess,
  match: (line: Record<string, unknown>) => boolean,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const lines = createInterface({ input: child.stdout! });
  const timer = setTimeout(() => lines.close(), timeoutMs);
  try {
    for await (const raw of lines) {
      const line = parseJson(raw);
      if (line && match(line)) return line;
    }
  } finally {
    clearTimeout(timer);
    // Keep draining, so a chatty child never blocks on a full pipe.
    child.stdout!.resume();
  }
  throw new Error(`no matching log line within ${timeoutMs} ms (exit code ${child.exitCode})`);
}

function parseJson(raw: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** SIGTERM shuts the worker down gracefully; SIGKILL if it has not exited in 30 s. */
async function stop(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
  return { code: child.exitCode, signal: child.signalCode };
}
