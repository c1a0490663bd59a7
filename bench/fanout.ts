/**
 * `npm run bench:fanout`: the projection pipeline against the local stack, in one run. A benchmark, not a test:
 * it prints numbers.
 *
 * - Throughput: a post (CreatePost over gRPC) to 10,000 and to 100,000 followers, in feed items per second, beside
 *   raw writes of the same documents into the same server (a `bulkWrite` of upserts, and `insertMany`), and the
 *   ratios.
 * - Write→read lag: CreatePost accepted → the item visible in a follower's `feed_items`, over ≥200 posts with
 *   audiences of at most 500, p50/p99, with the phases that make it up.
 * - Peak RSS of the worker process (the real workers/projection.ts, as a child) during the 100,000 fan-out.
 *
 * Environment: BENCH_SIZES (default 10000,100000), BENCH_LAG_POSTS (200), BENCH_UPSERT_BUDGET_MS (30000: the
 * upsert ceiling runs on as many of the documents as fit in that time).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AnyBulkWriteOperation, Collection, Db } from 'mongodb';
import { createCommandClient, PostType, Visibility } from '../client';
import { feedItemId } from '../domain/ids';
import { connectGraph, connectMongo, connectTemporal } from '../lib/clients';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { exitOnFailure } from '../lib/main';
import { startCommandServer } from '../services/command/server';
import { createGraph, type Graph } from '../stores/graph';
import { detectStoreKind } from '../stores/lookup';
import { distribution, percentile, projectionLag } from '../stores/projection-lag';
import { ensurePushdownIndexes, ensureQueryIndexes, PUSHDOWN_FIELDS } from '../stores/pushdown';
import { ensureReadModelIndexes, type FeedItemDoc, readModel } from '../stores/read-model';
import { writeModel } from '../stores/write-model';

const ROOT = resolve(__dirname, '..');
const SIZES = (process.env.BENCH_SIZES ?? '10000,100000').split(',').filter(Boolean).map(Number);
const LAG_POSTS = Number(process.env.BENCH_LAG_POSTS ?? 200);
const POLL_MS = 10;
const UPSERT_BUDGET_MS = Number(process.env.BENCH_UPSERT_BUDGET_MS ?? 30_000);

const rssKb = (pid: number, field: 'VmRSS' | 'VmHWM'): number => {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
};
const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function startWorker(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', 'workers/projection.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise<void>((ready, fail) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('"msg":"worker started"')) ready();
    });
    child.once('exit', (code) => fail(new Error(`worker exited (${code})`)));
  });
  return child;
}

async function seedFollowers(graph: Graph, authorId: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `${authorId}-f${String(i).padStart(7, '0')}`);
  for (let i = 0; i < n; i += 5_000) {
    const batch = ids.slice(i, i + 5_000);
    await graph.syncEdges(
      batch.map((id) => ({ kind: 'FOLLOWS' as const, from: id, to: authorId, active: true, version: 1 })),
    );
  }
  return ids;
}

/**
 * Raw writes of the fan-out's own documents into a fresh collection with feed_items' indexes, on the same server.
 * The upsert ceiling is time-boxed: FerretDB runs each upsert of a bulkWrite as its own statement.
 */
async function ceilings(
  db: Db,
  postId: string,
  postgresUrl: string,
): Promise<{ docs: number; upserted: number; upsertPerSec: number; insertPerSec: number }> {
  const docs = await readModel(db).feedItems.find({ postId }).toArray();
  const rate = async (
    name: string,
    write: (c: Collection<FeedItemDoc>, batch: FeedItemDoc[]) => Promise<unknown>,
    budgetMs = Infinity,
  ) => {
    const coll = db.collection<FeedItemDoc>(name);
    await coll.createIndexes([
      { key: { viewerId: 1, createdAt: -1, postId: -1 } },
      { key: { postId: 1 } },
      { key: { 'actor.id': 1 } },
      { key: { projectedAt: -1 } },
    ]);
    // The same GIN indexes as feed_items on FerretDB, so the ceiling pays what the pipeline pays per write.
    if ((await detectStoreKind(db)) === 'ferretdb') {
      await ensurePushdownIndexes(db, postgresUrl, { [name]: PUSHDOWN_FIELDS.feed_items });
    }
    const t0 = performance.now();
    let done = 0;
    // Upserts go 25 to a command: FerretDB holds a pooled connection per statement of one update command until it
    // ends, and more statements than its pool (50) would deadlock the server.
    const batch = budgetMs === Infinity ? 1_000 : 25;
    while (done < docs.length && performance.now() - t0 < budgetMs) {
      const slice = docs.slice(done, done + batch);
      await write(coll, slice);
      done += slice.length;
    }
    const perSec = done / ((performance.now() - t0) / 1000);
    await coll.drop();
    return { done, perSec };
  };
  const upsert = await rate(
    'bench_ceiling_upsert',
    (c, batch) =>
      c.bulkWrite(
        batch.map(({ _id, ...rest }): AnyBulkWriteOperation<FeedItemDoc> => ({
          updateOne: { filter: { _id }, update: { $set: rest }, upsert: true },
        })),
        { ordered: false },
      ),
    UPSERT_BUDGET_MS,
  );
  const insert = await rate('bench_ceiling_insert', (c, batch) => c.insertMany(batch, { ordered: false }));
  return { docs: docs.length, upserted: upsert.done, upsertPerSec: upsert.perSec, insertPerSec: insert.perSec };
}

async function main(): Promise<void> {
  const run = `b${Date.now().toString(36)}`;
  const prefix = `bench-${run}-`;
  const env = {
    MONGODB_DB: `feedflow_bench_fanout_${run}`,
    TASK_QUEUE_PREFIX: prefix,
    // Volume is the point here: push to every follower (the hybrid threshold is exercised by the tests).
    PULL_AUTHOR_THRESHOLD: '100000000',
    RATE_LIMITS_ENABLED: 'false',
  };
  const config = loadConfig({ ...process.env, ...env, LOG_LEVEL: 'warn' });
  const { mongo, db } = await connectMongo(config);
  const driver = connectGraph(config);
  const graph = createGraph(driver, config.GRAPH_DIALECT);
  const temporal = await connectTemporal(config);
  await Promise.all([ensureReadModelIndexes(db), graph.ensureSchema()]);
  await ensureQueryIndexes(db, config);
  const server = await startCommandServer({ config, db, temporal, logger: createLogger('bench', 'warn'), port: 0 });
  const client = createCommandClient({ address: `127.0.0.1:${server.port}`, token: 'dev-commands' });
  const wm = writeModel(db);
  const rm = readModel(db);
  const seeded: string[] = [];
  let worker = await startWorker(env);
  console.log(
    `bench:fanout  database ${config.MONGODB_DB}  page size ${config.FANOUT_PAGE_SIZE}  worker pid ${worker.pid}`,
  );

  const register = async (name: string) =>
    (await client.registerUser({ email: `${name}-${run}@example.com`, displayName: name, headline: 'Bench' })).userId;
  const createPost = async (authorId: string) => {
    const res = await client.createPost({
      authorId,
      content: 'x'.repeat(280),
      visibility: Visibility.PUBLIC,
      postType: PostType.TEXT,
    });
    const ev = await wm.events.findOne({ _id: res.receipt!.eventId });
    return { postId: res.postId, workflowId: ev!.workflowId!, acceptedAt: ev!.at.getTime() };
  };

  try {
    console.log(`\nWrite→read lag (CreatePost accepted → item visible to a follower), ${LAG_POSTS} posts`);
    const authors: Array<{ id: string; last: string }> = [];
    for (let i = 0; i < 20; i++) {
      const id = await register(`lag${i}`);
      const followers = await seedFollowers(graph, id, 25 * (i + 1)); // 25 … 500
      seeded.push(id, ...followers);
      authors.push({ id, last: followers[followers.length - 1] });
    }
    const lagStart = Date.now();
    const lags: number[] = [];
    /** Duration of the read that found each item: the resolution of "visible". */
    const reads: number[] = [];
    const phases = { start: [] as number[], pickup: [] as number[], project: [] as number[], visible: [] as number[] };
    for (let i = 0; i < LAG_POSTS; i++) {
      const author = authors[i % authors.length];
      const post = await createPost(author.id);
      const _id = feedItemId(author.last, post.postId);
      let item: FeedItemDoc | null = null;
      let readStarted = 0;
      for (;;) {
        readStarted = Date.now();
        if ((item = await rm.feedItems.findOne({ _id }))) break;
        // Not tighter: on FerretDB a read by _id scans the table, so a busy reader slows the writer it waits for.
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
      const visibleAt = Date.now();
      reads.push(visibleAt - readStarted);
      lags.push(visibleAt - post.acceptedAt);
      const history = await temporal.workflow.getHandle(post.workflowId).fetchHistory();
      const time = (attrs: 'workflowExecutionStartedEventAttributes' | 'workflowTaskStartedEventAttributes') => {
        const t = (history.events ?? []).find((e) => e[attrs])?.eventTime;
        return t ? Number(String(t.seconds)) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : NaN;
      };
      const started = time('workflowExecutionStartedEventAttributes');
      const picked = time('workflowTaskStartedEventAttributes');
      phases.start.push(started - post.acceptedAt);
      phases.pickup.push(picked - started);
      phases.project.push(item.projectedAt.getTime() - picked);
      phases.visible.push(visibleAt - item.projectedAt.getTime());
    }
    const lag = distribution(lags);
    console.log(
      `  p50 ${lag.p50} ms   p90 ${lag.p90} ms   p99 ${lag.p99} ms   max ${lag.max} ms   mean ${lag.mean.toFixed(1)} ms`,
    );
    const med = (v: number[]) =>
      percentile(
        [...v].sort((a, b) => a - b),
        50,
      );
    const p99 = (v: number[]) =>
      percentile(
        [...v].sort((a, b) => a - b),
        99,
      );
    console.log('  phases, p50 / p99:');
    console.log(
      `    accepted → workflow started (command side: event, write model, StartWorkflow) ${med(phases.start)} / ${p99(phases.start)} ms`,
    );
    console.log(
      `    workflow started → workflow task picked up by the worker               ${med(phases.pickup)} / ${p99(phases.pickup)} ms`,
    );
    console.log(
      `    task picked up → page projected (local activity: reads, graph, build)   ${med(phases.project)} / ${p99(phases.project)} ms`,
    );
    console.log(
      `    projected → visible to a reader (insertMany, poll)                      ${med(phases.visible)} / ${p99(phases.visible)} ms`,
    );
    console.log(`    (the reader's findOne that saw the item took ${med(reads)} / ${p99(reads)} ms)`);
    const stored = await projectionLag(rm, { since: new Date(lagStart), reason: 'follow' });
    console.log(
      `  stored lag of every follower item of these posts (accepted → projectedAt, scripts/lag-report.ts): ` +
        `${fmt(stored.count)} items, p50 ${stored.p50} ms, p99 ${stored.p99} ms`,
    );
    console.log('\nThroughput (CreatePost → fan-out workflow completed)');
    for (const size of SIZES) {
      const author = await register(`author${size}`);
      seeded.push(author, ...(await seedFollowers(graph, author, size)));
      if (size >= 100_000) {
        // A fresh worker, so its peak RSS is this fan-out's.
        worker.kill('SIGTERM');
        await new Promise((r) => worker.once('exit', r));
        worker = await startWorker(env);
      }
      let peakRss = 0;
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssKb(worker.pid!, 'VmRSS'))), 100);
      const post = await createPost(author);
      const result = await temporal.workflow.getHandle(post.workflowId).result();
      const seconds = (Date.now() - post.acceptedAt) / 1000;
      clearInterval(sampler);
      const items = await rm.feedItems.countDocuments({ postId: post.postId });
      const perSec = items / seconds;
      const ceiling = await ceilings(db, post.postId, config.FERRETDB_POSTGRESQL_URL);
      console.log(
        `  ${fmt(size)} followers: ${fmt(items)} items (workflow says ${fmt(result.itemsWritten)}) in ${seconds.toFixed(1)} s = ${fmt(perSec)} items/s`,
      );
      console.log(
        `    ceiling, same docs, same server: bulkWrite upsert ${fmt(ceiling.upsertPerSec)}/s over ${fmt(ceiling.upserted)} docs ` +
          `(ratio ${(perSec / ceiling.upsertPerSec).toFixed(2)}); insertMany ${fmt(ceiling.insertPerSec)}/s over ${fmt(ceiling.docs)} ` +
          `(ratio ${(perSec / ceiling.insertPerSec).toFixed(2)})`,
      );
      console.log(`    worker RSS: peak sampled ${mb(peakRss)}, VmHWM ${mb(rssKb(worker.pid!, 'VmHWM'))}`);
    }
  } finally {
    worker.kill('SIGTERM');
    await server.close();
    await graph.removeUsers(seeded).catch(() => undefined);
    await db.dropDatabase().catch(() => undefined);
    await Promise.allSettled([mongo.close(), driver.close(), temporal.connection.close()]);
  }
}

exitOnFailure(main());
