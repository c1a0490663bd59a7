/**
 * `npm run bench:feed`: GetFeed with ghz against query servers on the local stack, over a seeded network of
 * 10,000 members. Prints cached and uncached GetFeed beside the Echo ceiling of the same server and a raw indexed
 * find of 20 feed items as the database's ceiling. A benchmark, not a test: it prints numbers.
 */
import type { Db } from 'mongodb';
import { connectGraph, connectMongo, connectTemporal } from '../lib/clients';
import { loadConfig, sharedNamespaceEnv, type Config } from '../lib/config';
import { createLogger } from '../lib/logger';
import { exitOnFailure } from '../lib/main';
import { startQueryServer } from '../services/query/server';
import { closeFeedCacheWriter } from '../stores/feed-cache';
import { runMix } from './feed-mix';
import { failures, ghz as runGhz, percentileMs, type GhzReport } from './ghz';
import { closedLoop } from './load';
import { benchMember } from './seed';

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 10_000);
const ITEMS_PER_FEED = Number(process.env.BENCH_ITEMS_PER_FEED ?? 30);
const TOTAL = Number(process.env.BENCH_REQUESTS ?? 4000);
// Uncached GetFeed and the raw find run at the same concurrency, over the same cold viewers, so their rps compare.
const UNCACHED_TOTAL = Number(process.env.BENCH_UNCACHED_REQUESTS ?? 1000);
const UNCACHED_CONCURRENCY = Number(process.env.BENCH_UNCACHED_CONCURRENCY ?? 4);
const HOT_VIEWERS = Number(process.env.BENCH_HOT_VIEWERS ?? 8);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const MIX_PROCESSES = Number(process.env.BENCH_MIX_PROCESSES ?? 3);
const MIX_REQUESTS = Number(process.env.BENCH_MIX_REQUESTS ?? 3000);
const MIX_CONCURRENCY = Number(process.env.BENCH_MIX_CONCURRENCY ?? 4);
const DB = 'feedflow_bench_feed';

const member = (i: number): string => `bm${String(i).padStart(6, '0')}`;

/** Seeds members, posts and pushed feed items straight into the stores (once; reused by later runs). */
async function seed(db: Db): Promise<void> {
  if (await db.collection('bench_meta').findOne({ _id: `seeded-${MEMBERS}-${ITEMS_PER_FEED}` as never })) {
    console.log(`# reusing the seeded network in database ${DB}`);
    return;
  }
  await db.dropDatabase();
  const t0 = Date.now();
  const now = Date.now();
  const users = Array.from({ length: MEMBERS }, (_, i) =>
    benchMember(member(i), `Member ${i}`, 'Bench member', new Date(now)),
  );
  for (let i = 0; i < users.length; i += 5000)
    await db.collection('users').insertMany(users.slice(i, i + 5000) as never[]);
  // Each member writes a few posts; each feed holds posts by a skewed set of authors.
  const POSTS = MEMBERS * 2;
  const posts = Array.from({ length: POSTS }, (_, i) => ({
    _id: `bp${String(i).padStart(7, '0')}`,
    authorId: member(Math.floor(MEMBERS * Math.pow(((i * 7919) % POSTS) / POSTS, 2))),
    content: `Bench post ${i}: ${'lorem ipsum '.repeat(8)}`,
    visibility: 'public',
    type: 'text',
    mediaUrls: [],
    version: 1,
    deleted: false,
    createdAt: new Date(now - i * 30_000),
    updatedAt: new Date(now - i * 30_000),
  }));
  for (let i = 0; i < posts.length; i += 5000)
    await db.collection('posts').insertMany(posts.slice(i, i + 5000) as never[]);
  let batch: object[] = [];
  let written = 0;
  for (let v = 0; v < MEMBERS; v++) {
    for (let k = 0; k < ITEMS_PER_FEED; k++) {
      const p = posts[(v * 131 + k * 977) % POSTS];
      batch.push({
        _id: `${member(v)}:${p._id}`,
        viewerId: member(v),
        postId: p._id,
        version: 1,
        actor: { id: p.authorId, name: `Member ${p.authorId}`, headline: 'Bench member', imageUrl: '', version: 1 },
        type: 'text',
        content: p.content,
        mediaUrls: [],
        visibility: 'public',
        createdAt: p.createdAt,
        acceptedAt: p.createdAt,
        projectedAt: p.createdAt,
        score: 1,
        modelVersion: null,
        reason: 'connection',
      });
    }
    if (batch.length >= 10_000 || v === MEMBERS - 1) {
      await db
        .collection('feed_items')
        .insertMany(batch as never[], { ordered: false })
        .catch(() => undefined);
      written += batch.length;
      batch = [];
      if (v % 2000 < 400) console.log(`# seeding feed items: ${written}`);
    }
  }
  await db.collection('feed_items').createIndex({ viewerId: 1, createdAt: -1, postId: -1 }, { name: 'viewer_recent' });
  await db.collection('posts').createIndex({ authorId: 1, createdAt: -1, _id: -1 });
  await db.collection('bench_meta').insertOne({ _id: `seeded-${MEMBERS}-${ITEMS_PER_FEED}` as never });
  console.log(
    `# seeded ${MEMBERS} members, ${POSTS} posts, ${written} feed items in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
}

const ghz = (
  port: number,
  call: string,
  data: object | object[],
  concurrency = CONCURRENCY,
  total = TOTAL,
): Promise<GhzReport> => runGhz({ port, call, data, token: 'dev-queries', concurrency, total, timeout: '300s' });
const pct = percentileMs;

async function rawFind(db: Db, viewers: string[]): Promise<{ p50: number; p99: number; rps: number }> {
  const coll = db.collection('feed_items');
  return closedLoop(UNCACHED_CONCURRENCY, UNCACHED_TOTAL, (i) =>
    coll
      .find({ viewerId: viewers[i % viewers.length] })
      .sort({ createdAt: -1, postId: -1 })
      .limit(20)
      .toArray(),
  );
}

async function main(): Promise<void> {
  const base: Config = loadConfig(
    sharedNamespaceEnv({ ...process.env, MONGODB_DB: DB, LOG_LEVEL: 'warn', QUERY_METRICS_PORT: '0' }),
  );
  const { mongo, db } = await connectMongo(base);
  await seed(db);
  const graph = connectGraph(base);
  const temporal = await connectTemporal(base);
  const logger = createLogger('bench', 'warn');
  const cachedServer = await startQueryServer({ config: base, db, graph, temporal, logger, port: 0 });
  const uncachedServer = await startQueryServer({
    config: { ...base, FEED_CACHE_ENABLED: false },
    db,
    graph,
    temporal,
    logger,
    port: 0,
  });

  const hot = Array.from({ length: HOT_VIEWERS }, (_, i) => ({ viewer_id: member(i * 37) }));
  const cold = Array.from({ length: 2000 }, (_, i) => ({ viewer_id: member((i * 4993) % MEMBERS) }));
  console.log(`# servers up: cached :${cachedServer.port}, uncached :${uncachedServer.port}`);
  await ghz(cachedServer.port, 'feedflow.v1.FeedService.GetFeed', hot, 1, HOT_VIEWERS); // warm the cache
  // Uncached means every first page is built (a cold page): the viewers' states are derived once beforehand, as
  // they are for any member who read in the last hour.
  await ghz(uncachedServer.port, 'feedflow.v1.FeedService.GetFeed', cold, UNCACHED_CONCURRENCY, cold.length);
  console.log("# cache warmed, cold viewers' states derived");

  const rows: Array<[string, number, number, number, number]> = [];
  const add = (name: string, r: GhzReport): void => {
    const bad = failures(r);
    rows.push([name, pct(r, 50), pct(r, 99), r.rps, bad]);
  };
  const echo = await ghz(cachedServer.port, 'feedflow.v1.DiagnosticsService.Echo', { message: 'x' });
  add(`Echo (framework ceiling), c=${CONCURRENCY}`, echo);
  const cached = await ghz(cachedServer.port, 'feedflow.v1.FeedService.GetFeed', hot);
  // Without queueing: one call at a time shows each RPC's own latency, beside the framework's.
  const echo1 = await ghz(cachedServer.port, 'feedflow.v1.DiagnosticsService.Echo', { message: 'x' }, 1, 1000);
  add('Echo, c=1', echo1);
  const cached1 = await ghz(cachedServer.port, 'feedflow.v1.FeedService.GetFeed', hot, 1, 1000);
  add(`GetFeed cached, c=1`, cached1);
  add(`GetFeed cached (${HOT_VIEWERS} hot viewers), c=${CONCURRENCY}`, cached);
  const uncached = await ghz(
    uncachedServer.port,
    'feedflow.v1.FeedService.GetFeed',
    cold,
    UNCACHED_CONCURRENCY,
    UNCACHED_TOTAL,
  );
  add(`GetFeed uncached (cache off, ${UNCACHED_TOTAL} requests at c=${UNCACHED_CONCURRENCY})`, uncached);
  const raw = await rawFind(
    db,
    cold.map((c) => c.viewer_id),
  );

  console.log(`\n# ${TOTAL} requests per row unless noted, ${MEMBERS} members, ${ITEMS_PER_FEED} items per feed`);
  console.log('| what | p50 ms | p99 ms | rps | non-OK |');
  console.log('|---|---|---|---|---|');
  for (const [n, p50, p99, rps, bad] of rows)
    console.log(`| ${n} | ${p50.toFixed(2)} | ${p99.toFixed(2)} | ${rps.toFixed(0)} | ${bad} |`);
  console.log(
    `| raw indexed find of 20 feed items (database ceiling, ${UNCACHED_TOTAL} at c=${UNCACHED_CONCURRENCY}) | ${raw.p50.toFixed(2)} | ${raw.p99.toFixed(2)} | ${raw.rps.toFixed(0)} | |`,
  );
  console.log(
    `\ncached GetFeed c=1 p99 ${pct(cached1, 99).toFixed(2)} ms (goal ≤ 5), uncached p99 ${pct(uncached, 99).toFixed(2)} ms (goal ≤ 50)`,
  );
  console.log(`cached GetFeed rps / Echo rps at c=${CONCURRENCY} = ${(cached.rps / echo.rps).toFixed(3)} (goal ≥ 0.7)`);
  console.log(`uncached GetFeed rps / raw find rps = ${(uncached.rps / raw.rps).toFixed(3)} (goal ≥ 0.5)`);
  console.log(`cache counters: ${JSON.stringify(cachedServer.cache.counters)}`);
  console.log(`uncached server counters: ${JSON.stringify(uncachedServer.cache.counters)}`);
  await runMix({
    config: base,
    db,
    members: member,
    memberCount: MEMBERS,
    processes: MIX_PROCESSES,
    requestsPerProcess: MIX_REQUESTS,
    concurrency: MIX_CONCURRENCY,
    readsPerWrite: 300,
  });

  await cachedServer.close();
  await uncachedServer.close();
  await temporal.connection.close();
  await graph.close();
  await mongo.close();
  await closeFeedCacheWriter();
}

exitOnFailure(main());
