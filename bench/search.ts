/**
 * `npm run bench:search`: SearchPosts with ghz against a query server on the local stack, over 20,000 posts in
 * OpenSearch, at c=1 and c=8, beside the same query sent raw to OpenSearch from this process; then the indexing lag
 * of the pipeline (CreatePost accepted → the post found by a search), p50 and p99. A benchmark, not a test: it
 * prints numbers and the goals as ratios.
 */
import { performance } from 'node:perf_hooks';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { Db } from 'mongodb';
import { createSearchActivities } from '../activities/search';
import { createCommandClient, createQueryClient } from '../client';
import { connectGraph, connectMongo, connectTemporal } from '../lib/clients';
import { loadConfig, searchAliasOf, sharedNamespaceEnv } from '../lib/config';
import { createLogger } from '../lib/logger';
import { exitOnFailure } from '../lib/main';
import { TASK_QUEUES } from '../pipeline/queues';
import { startCommandServer } from '../services/command/server';
import { startQueryServer } from '../services/query/server';
import { connectSearch, createSearchIndex, type SearchIndex, searchDocOf } from '../stores/search';
import { postQueryBody } from '../stores/search-query';
import { type RelationshipDoc, writeModel } from '../stores/write-model';
import { loadWorkflowBundle } from '../workers/bundle';
import { failures, ghz, percentileMs } from './ghz';
import { closedLoop, percentileOf } from './load';
import { acceptedRelationship, benchMember } from './seed';

const POSTS = Number(process.env.BENCH_POSTS ?? 20_000);
const MEMBERS = 500;
const TOTAL = Number(process.env.BENCH_REQUESTS ?? 1000);
const LAG_SAMPLES = Number(process.env.BENCH_LAG_SAMPLES ?? 40);
const DB = 'feedflow_bench_search';
// A vocabulary of 400 made-up words, 12 to a post: a word is in about 3% of the posts, two of them in a few dozen.
const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ne',
  'ru',
  'sa',
  'ti',
  'vo',
  'ze',
  'po',
  'qua',
  'dri',
  'fen',
  'gor',
  'hal',
  'jun',
  'bel',
  'cor',
  'dax',
  'wyn',
];
const WORDS = Array.from({ length: 400 }, (_, i) => SYLLABLES[i % 20] + SYLLABLES[Math.floor(i / 20)] + 'ly');
const member = (i: number) => `sm${String(i).padStart(5, '0')}`;
const VIEWER = member(0);

/** Seeds members, a viewer with connections and blocks, and posts, straight into the stores and the index. */
async function seed(db: Db, search: SearchIndex): Promise<void> {
  const marker = `seeded-v2-${POSTS}`;
  if ((await db.collection('bench_meta').findOne({ _id: marker as never })) && (await search.count()) >= POSTS) {
    console.log(`# reusing ${POSTS} seeded posts in ${DB} / ${search.alias}`);
    return;
  }
  await db.dropDatabase();
  await search.ensure();
  const t0 = Date.now();
  const now = Date.now();
  const users = Array.from({ length: MEMBERS }, (_, i) =>
    benchMember(member(i), `Member ${i} ${WORDS[i % WORDS.length]}`, '', new Date(now)),
  );
  await db.collection('users').insertMany(users as never[]);
  // The viewer is connected to 50 members and blocked by 5 (exercises the audience filter both ways).
  const rel = (type: RelationshipDoc['type'], from: string, to: string): RelationshipDoc =>
    acceptedRelationship(`${type[0]}-${from}-${to}`, type, from, to, new Date(now));
  await db
    .collection('connections')
    .insertMany([
      ...Array.from({ length: 50 }, (_, i) => rel('connection', VIEWER, member(i + 1))),
      ...Array.from({ length: 5 }, (_, i) => rel('block', member(100 + i), VIEWER)),
    ] as never[]);
  const vis = ['public', 'public', 'public', 'connections', 'private'] as const;
  for (let start = 0; start < POSTS; start += 2000) {
    const posts = Array.from({ length: Math.min(2000, POSTS - start) }, (_, k) => {
      const i = start + k;
      const words = Array.from({ length: 12 }, (_, j) => WORDS[(i * 7919 + j * 104_729) % WORDS.length]);
      return {
        _id: `sp${String(i).padStart(7, '0')}`,
        authorId: member((i * 31) % MEMBERS),
        content: `Post ${i} about ${words.join(' ')}.`,
        visibility: vis[i % vis.length],
        type: 'text' as const,
        mediaUrls: [],
        version: 1,
        deleted: false,
        createdAt: new Date(now - i * 60_000),
        updatedAt: new Date(now - i * 60_000),
      };
    });
    await db.collection('posts').insertMany(posts as never[]);
    await search.write(posts.map((p) => searchDocOf(p, users[Number(p.authorId.slice(2))])));
  }
  await search.refresh();
  await db.collection('bench_meta').insertOne({ _id: marker as never });
  console.log(`# seeded ${POSTS} posts in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

// Pairs of words that occur together in some posts (the seed's own pairs), and single words.
const QUERIES = Array.from({ length: 50 }, (_, i) =>
  i % 2
    ? WORDS[(i * 37) % WORDS.length]
    : `${WORDS[(i * 7919) % WORDS.length]} ${WORDS[(i * 7919 + 104_729) % WORDS.length]}`,
);
const pct = percentileOf;

/** The same query body SearchPosts sends, straight to OpenSearch, `total` requests at concurrency `c`. */
async function raw(search: ReturnType<typeof connectSearch>, alias: string, c: number, total: number) {
  const bodies = QUERIES.map((text) =>
    postQueryBody({
      viewerId: VIEWER,
      text,
      connections: Array.from({ length: 50 }, (_, i) => member(i + 1)),
      blocked: Array.from({ length: 5 }, (_, i) => member(100 + i)),
      sort: 'relevance',
      size: 25,
    }),
  );
  return closedLoop(c, total, (i) => search.search({ index: alias, body: bodies[i % bodies.length] as never }));
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const config = loadConfig(
    sharedNamespaceEnv({ ...process.env, MONGODB_DB: DB, LOG_LEVEL: 'warn', RATE_LIMITS_ENABLED: 'false' }),
  );
  const logger = createLogger('bench-search', 'warn');
  const { mongo, db } = await connectMongo(config);
  const client = connectSearch(config);
  const search = createSearchIndex(client, searchAliasOf(config));
  await seed(db, search);
  const graph = connectGraph(config);
  const temporal = await connectTemporal(config);
  const query = await startQueryServer({ config, db, graph, temporal, logger, port: 0 });
  const command = await startCommandServer({ config, db, temporal, logger, port: 0 });
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TASK_QUEUE_PREFIX + TASK_QUEUES.search,
    workflowBundle: await loadWorkflowBundle(),
    activities: createSearchActivities({ db, search, logger }),
  });
  const running = worker.run();
  try {
    console.log(`# ${POSTS} posts; SearchPosts (page 20) vs the same query raw to OpenSearch; ${TOTAL} requests each`);
    console.log('| what | c | p50 ms | p99 ms | rps | errors |\n|---|---|---|---|---|---|');
    const rows: Record<string, { rps: number; p50: number; p99: number }> = {};
    for (const c of [1, 8]) {
      await raw(client, search.alias, c, 100); // warm-up
      const r = await raw(client, search.alias, c, TOTAL);
      rows[`raw${c}`] = r;
      console.log(
        `| raw OpenSearch query | ${c} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.rps.toFixed(0)} | 0 |`,
      );
      const data = QUERIES.map((q) => ({ viewer_id: VIEWER, query: q, page_size: 20 }));
      const call = 'feedflow.v1.FeedService/SearchPosts';
      await ghz({ port: query.port, call, data, token: 'dev-queries', concurrency: c, total: 100 });
      const g = await ghz({ port: query.port, call, data, token: 'dev-queries', concurrency: c, total: TOTAL });
      rows[`rpc${c}`] = { rps: g.rps, p50: percentileMs(g, 50), p99: percentileMs(g, 99) };
      console.log(
        `| SearchPosts | ${c} | ${percentileMs(g, 50).toFixed(1)} | ${percentileMs(g, 99).toFixed(1)} | ${g.rps.toFixed(0)} | ${failures(g)} |`,
      );
    }

    // Indexing lag: accepted by CreatePost → found by SearchPosts (refresh every 1 s, as in production).
    const cmd = createCommandClient({ address: `127.0.0.1:${command.port}`, token: 'dev-commands' });
    const feed = createQueryClient({ address: `127.0.0.1:${query.port}`, token: 'dev-queries' });
    const lags: number[] = [];
    // No projection worker runs here: the fan-outs these posts start are ended afterwards.
    const fanouts: string[] = [];
    for (let i = 0; i < LAG_SAMPLES; i++) {
      const word = `lag${Date.now().toString(36)}x${i}`;
      const s = performance.now();
      const res = await cmd.createPost({ authorId: VIEWER, content: `${word} fresh post`, visibility: 1, postType: 1 });
      fanouts.push(res.receipt!.eventId);
      while (!(await feed.searchPosts({ viewerId: VIEWER, query: word, pageSize: 1 })).hits.length) {
        await new Promise((r) => setTimeout(r, 10));
      }
      lags.push(performance.now() - s);
    }
    const started = await Promise.all(fanouts.map((id) => writeModel(db).events.findOne({ _id: id })));
    await Promise.allSettled(
      started.map((ev) => temporal.workflow.getHandle(ev!.workflowId!).terminate('search bench done')),
    );
    const lagP50 = pct(lags, 50);
    const lagP99 = pct(lags, 99);
    console.log(`\n# indexing lag over ${LAG_SAMPLES} posts: p50 ${lagP50.toFixed(0)} ms, p99 ${lagP99.toFixed(0)} ms`);
    console.log('\n| goal | measured | target | met |\n|---|---|---|---|');
    const goal = (name: string, v: string, target: string, ok: boolean) =>
      console.log(`| ${name} | ${v} | ${target} | ${ok ? 'yes' : 'no'} |`);
    const ratio = rows.rpc8.rps / rows.raw8.rps;
    goal('SearchPosts rps / raw rps, c=8', ratio.toFixed(2), '≥ 0.5', ratio >= 0.5);
    goal('SearchPosts p99, c=1', `${rows.rpc1.p99.toFixed(1)} ms`, '≤ 50 ms', rows.rpc1.p99 <= 50);
    goal('CreatePost → searchable p50', `${lagP50.toFixed(0)} ms`, '≤ 1500 ms', lagP50 <= 1500);
    goal('CreatePost → searchable p99', `${lagP99.toFixed(0)} ms`, '≤ 3000 ms', lagP99 <= 3000);
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
    await command.close();
    await query.close();
    await temporal.connection.close();
    await graph.close();
    await client.close();
    await mongo.close();
  }
}

exitOnFailure(main());
