/**
 * `npm run bench:lag`: the lag a follower sees. CreatePost, then a follower whose feed is already cached polls
 * GetFeed until the post is on its first page; p50/p99 by audience size (25 to 500), while background authors post
 * 20 times a second. The command server (with its first-hop workers), the query server and the projection worker
 * run as their own processes, as in production, on the local stack. A benchmark, not a test: it prints numbers.
 *
 * Environment: BENCH_LAG_SAMPLES (40 per audience), BENCH_LAG_AUDIENCES (25,50,100,250,500), BENCH_BACKGROUND_RPS
 * (20), BENCH_BACKGROUND_AUDIENCE (20 followers each), BENCH_LAG_POLL_MS (5). No ranking or search worker runs: their
 * workflows wait on their queues, so the figure is the feed's own path.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import {
  createCommandClient,
  createFeedflowTransport,
  createQueryClient,
  PostType,
  type QueryClient,
  Visibility,
} from '../client';
import { connectGraph, connectMongo } from '../lib/clients';
import { loadConfig } from '../lib/config';
import { exitOnFailure } from '../lib/main';
import { createGraph } from '../stores/graph';
import { percentile } from '../stores/projection-lag';

const pct = (values: number[], p: number): number =>
  percentile(
    [...values].sort((a, b) => a - b),
    p,
  );

const ROOT = resolve(__dirname, '..');
const SAMPLES = Number(process.env.BENCH_LAG_SAMPLES ?? 40);
const AUDIENCES = (process.env.BENCH_LAG_AUDIENCES ?? '25,50,100,250,500').split(',').map(Number);
const BACKGROUND_RPS = Number(process.env.BENCH_BACKGROUND_RPS ?? 20);
const BACKGROUND_AUDIENCE = Number(process.env.BENCH_BACKGROUND_AUDIENCE ?? 20);
const POLL_MS = Number(process.env.BENCH_LAG_POLL_MS ?? 5);
const PORTS = { command: 50151, query: 50152 };

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startProcess(entry: string, env: NodeJS.ProcessEnv, ready: RegExp): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', entry], {
    cwd: ROOT,
    env: { ...process.env, ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolveReady, fail) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (ready.test(out)) {
        out = '';
        resolveReady(child);
      } else if (out.length > 100_000) out = out.slice(-10_000);
    });
    child.once('exit', (code) => fail(new Error(`${entry} exited (${code})`)));
  });
}

/** Polls the follower's first page until the post is on it; the lag runs from just before CreatePost. */
async function seenAfter(feed: QueryClient, viewerId: string, postId: string, t0: number): Promise<number> {
  for (;;) {
    const page = await feed.getFeed({ viewerId, pageSize: 5 });
    if (page.items.some((i) => i.post?.postId === postId)) return performance.now() - t0;
    if (performance.now() - t0 > 30_000) throw new Error(`post ${postId} not seen by ${viewerId} after 30 s`);
    await sleep(POLL_MS);
  }
}

async function main(): Promise<void> {
  const db = `feedflow_bench_lag`;
  const env = {
    MONGODB_DB: db,
    // A fresh prefix per run, so no run inherits another's queued tasks.
    TASK_QUEUE_PREFIX: `${db}-${Date.now()}-`,
    RATE_LIMITS_ENABLED: 'false',
    COMMAND_PORT: String(PORTS.command),
    QUERY_PORT: String(PORTS.query),
    COMMAND_METRICS_PORT: '0',
    QUERY_METRICS_PORT: '0',
    PROJECTION_WORKER_METRICS_PORT: '0',
    SCHEDULES_ENABLED: 'false',
  };
  const config = loadConfig({ ...process.env, ...env });
  const { mongo, db: store } = await connectMongo(config);
  await store.dropDatabase();
  const driver = connectGraph(config);
  const graph = createGraph(driver, config.GRAPH_DIALECT);
  console.log(`# bench:lag — load ${load()} at start`);
  const procs = await Promise.all([
    startProcess('workers/projection.ts', env, /"msg":"worker started"/),
    startProcess('services/command/server.ts', env, /"msg":"metrics at \/metrics"/),
    startProcess('services/query/server.ts', env, /"msg":"metrics at \/metrics"/),
  ]);
  try {
    const cmd = createCommandClient(
      createFeedflowTransport({ address: `127.0.0.1:${PORTS.command}`, token: 'dev-commands' }),
    );
    const feed = createQueryClient(
      createFeedflowTransport({ address: `127.0.0.1:${PORTS.query}`, token: 'dev-queries' }),
    );
    const member = async (name: string) =>
      (await cmd.registerUser({ email: `${name}-${Date.now()}@bench.example`, displayName: name })).userId;

    // One author per audience size, followed by a registered follower (the reader) and graph-only followers.
    const authors: Array<{ audience: number; author: string; reader: string }> = [];
    for (const audience of AUDIENCES) {
      const [author, reader] = [await member(`author${audience}`), await member(`reader${audience}`)];
      await cmd.follow({ followerId: reader, followeeId: author });
      const others = Array.from({ length: audience - 1 }, (_, i) => `${author}-f${String(i).padStart(5, '0')}`);
      await graph.syncEdges(
        others.map((id) => ({ kind: 'FOLLOWS' as const, from: id, to: author, active: true, version: 1 })),
      );
      authors.push({ audience, author, reader });
    }
    const background = await Promise.all([1, 2, 3, 4].map((i) => member(`background${i}`)));
    for (const b of background) {
      const fans = Array.from({ length: BACKGROUND_AUDIENCE }, (_, i) => `${b}-f${String(i).padStart(5, '0')}`);
      await graph.syncEdges(
        fans.map((id) => ({ kind: 'FOLLOWS' as const, from: id, to: b, active: true, version: 1 })),
      );
    }
    await sleep(2_000); // the follows' backfills

    let running = true;
    let backgroundPosts = 0;
    const backgroundLoop = (async () => {
      const t0 = performance.now();
      while (running) {
        const due = ((performance.now() - t0) / 1000) * BACKGROUND_RPS;
        while (backgroundPosts < due) {
          const author = background[backgroundPosts % background.length];
          backgroundPosts++;
          void cmd.createPost({
            authorId: author,
            content: 'background',
            visibility: Visibility.PUBLIC,
            postType: PostType.TEXT,
          });
        }
        await sleep(10);
      }
      return backgroundPosts / ((performance.now() - t0) / 1000);
    })();

    console.log(`| audience | samples | p50 ms | p99 ms | max ms |`);
    console.log(`|---|---|---|---|---|`);
    const all: number[] = [];
    for (const { audience, author, reader } of authors) {
      await feed.getFeed({ viewerId: reader, pageSize: 5 }); // the reader's session is cached before each post
      const lags: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        await feed.getFeed({ viewerId: reader, pageSize: 5 });
        const t0 = performance.now();
        const { postId } = await cmd.createPost({
          authorId: author,
          content: `lag ${i}`,
          visibility: Visibility.PUBLIC,
          postType: PostType.TEXT,
        });
        lags.push(await seenAfter(feed, reader, postId, t0));
      }
      all.push(...lags);
      const ms = (q: number) => pct(lags, q).toFixed(0);
      console.log(`| ${audience} | ${lags.length} | ${ms(50)} | ${ms(99)} | ${Math.max(...lags).toFixed(0)} |`);
    }
    running = false;
    const rate = await backgroundLoop;
    const ms = (q: number) => pct(all, q).toFixed(0);
    console.log(`| all | ${all.length} | ${ms(50)} | ${ms(99)} | ${Math.max(...all).toFixed(0)} |`);
    console.log(
      `\nbackground: ${rate.toFixed(1)} posts/s to ${BACKGROUND_AUDIENCE} followers each; load ${load()} at end`,
    );
    console.log(
      JSON.stringify({ bench: 'lag', p50: pct(all, 50), p99: pct(all, 99), samples: all.length, backgroundRps: rate }),
    );
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await driver.close();
    await mongo.close();
  }
}

exitOnFailure(main());
