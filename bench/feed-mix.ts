/**
 * The realistic mix of `npm run bench:feed`: several query processes sharing one Redis, GetFeed for
 * Zipf-distributed viewers, and a writer that delivers a post (feed items to its audience and the invalidation,
 * as a fan-out page does) every 300 reads. Prints p50/p99 per process and, from each process's /metrics, the hit
 * ratio per cache tier and the latency of first pages per tier.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import type { Db } from 'mongodb';
import type { Config } from '../lib/config';
import { invalidateFeeds } from '../stores/feed-cache';
import { writeFeedItems } from '../stores/feed-items';
import { type FeedItemDoc, readModel } from '../stores/read-model';
import { ghz, type GhzReport, percentileMs } from './ghz';

const ROOT = path.resolve(__dirname, '..');

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });

/** `n` viewer indexes drawn from a Zipf distribution (s = 1) over `members`: a few read very often. */
export function zipf(members: number, n: number, seed = 7): number[] {
  const weights = Array.from({ length: members }, (_, i) => 1 / (i + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const cdf: number[] = [];
  let acc = 0;
  for (const w of weights) cdf.push((acc += w / total));
  let x = seed;
  const rand = () => (x = (x * 48271) % 2147483647) / 2147483647;
  return Array.from({ length: n }, () => {
    const r = rand();
    let lo = 0;
    let hi = members - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < r) lo = mid + 1;
      else hi = mid;
    }
    // Spread the popular ranks over the id space, so they are not all neighbours.
    return (lo * 7919) % members;
  });
}

async function startQueryProcess(config: Config): Promise<{ proc: ChildProcess; port: number; metrics: number }> {
  const [port, metrics] = [await freePort(), await freePort()];
  const proc = spawn(process.execPath, ['--require', 'tsx/cjs', 'services/query/server.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      MONGODB_DB: config.MONGODB_DB,
      TASK_QUEUE_PREFIX: config.TASK_QUEUE_PREFIX,
      QUERY_PORT: String(port),
      QUERY_METRICS_PORT: String(metrics),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  for (let i = 0; i < 600; i++) {
    const ok = await fetch(`http://127.0.0.1:${metrics}/metrics`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { proc, port, metrics };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('query process did not start');
}

/** Sums a counter's samples by the given label. */
function samples(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^[^{ ]+(?:\{([^}]*)\})? ([0-9.e+-]+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries(
      (m[1] ?? '')
        .split(',')
        .filter(Boolean)
        .map((kv) => kv.split('=').map((x) => x.replace(/"/g, ''))),
    );
    out.push({ labels, value: Number(m[2]) });
  }
  return out;
}

/** A quantile from histogram buckets (the upper bound of the bucket it falls in). */
function bucketQuantile(buckets: Array<{ le: number; count: number }>, q: number): number {
  const total = buckets[buckets.length - 1]?.count ?? 0;
  return buckets.find((b) => b.count >= total * q)?.le ?? NaN;
}

export async function runMix(opts: {
  config: Config;
  db: Db;
  members: (i: number) => string;
  memberCount: number;
  processes: number;
  requestsPerProcess: number;
  concurrency: number;
  /** One write per this many reads, counted from the processes' metrics. */
  readsPerWrite: number;
}): Promise<void> {
  const procs = await Promise.all(Array.from({ length: opts.processes }, () => startQueryProcess(opts.config)));
  const rm = readModel(opts.db);
  const data = zipf(opts.memberCount, 5000).map((i) => ({ viewer_id: opts.members(i) }));
  // Every viewer of the sample has read within the hour in steady state: derive their states first.
  const distinct = [...new Map(data.map((d) => [d.viewer_id, d])).values()];
  await ghz({
    port: procs[0].port,
    call: 'feedflow.v1.FeedService.GetFeed',
    data: distinct,
    token: 'dev-queries',
    concurrency: opts.concurrency,
    total: distinct.length,
    timeout: '60s',
  });
  const scrape = () =>
    Promise.all(procs.map((p) => fetch(`http://127.0.0.1:${p.metrics}/metrics`).then((r) => r.text())));
  const firstPages = (texts: string[]) =>
    texts.flatMap((t) => samples(t, 'feedflow_feed_page_seconds_count')).reduce((n, x) => n + x.value, 0);
  const baseline = await scrape();
  let writes = 0;
  let stop = false;
  const writer = (async () => {
    while (!stop) {
      await new Promise((r) => setTimeout(r, 100));
      const reads = firstPages(await scrape()) - firstPages(baseline);
      if (reads < (writes + 1) * opts.readsPerWrite) continue;
      // A post by a popular member, delivered to an audience of 50 viewers drawn the same way readers are.
      const author = opts.members(zipf(opts.memberCount, 1, 1000 + writes)[0]);
      const audience = [...new Set(zipf(opts.memberCount, 50, 5000 + writes))].map(opts.members);
      const postId = `mix-${Date.now()}-${writes}`;
      const now = new Date();
      const item = (viewerId: string): FeedItemDoc => ({
        _id: `${viewerId}:${postId}`,
        viewerId,
        postId,
        version: 1,
        actor: { id: author, name: `Member ${author}`, headline: 'Bench member', imageUrl: '', version: 1 },
        type: 'text',
        content: 'a new post',
        mediaUrls: [],
        visibility: 'public',
        createdAt: now,
        acceptedAt: now,
        projectedAt: now,
        score: 1,
        modelVersion: null,
        reason: 'connection',
      });
      await writeFeedItems(rm, audience.map(item));
      await invalidateFeeds(opts.db, audience);
      writes++;
    }
  })();
  const reports: GhzReport[] = await Promise.all(
    procs.map((p, k) =>
      ghz({
        port: p.port,
        call: 'feedflow.v1.FeedService.GetFeed',
        data: [...data.slice(k * 700), ...data.slice(0, k * 700)],
        token: 'dev-queries',
        concurrency: opts.concurrency,
        total: opts.requestsPerProcess,
        timeout: '60s',
      }),
    ),
  );
  stop = true;
  await writer;
  const texts = await scrape();
  for (const p of procs) p.proc.kill('SIGTERM');

  const reads = reports.reduce((n, r) => n + r.count, 0);
  console.log(
    `\n# mix: ${opts.processes} query processes sharing Redis, ${reads} GetFeed (Zipf viewers, c=${opts.concurrency} each), ${writes} writes (${(reads / Math.max(1, writes)).toFixed(0)} reads per write)`,
  );
  console.log('| process | p50 ms | p99 ms | rps | non-OK |');
  console.log('|---|---|---|---|---|');
  reports.forEach((r, k) => {
    const bad = Object.entries(r.statusCodeDistribution)
      .filter(([c]) => c !== 'OK')
      .reduce((n, [, v]) => n + v, 0);
    console.log(
      `| ${k + 1} | ${percentileMs(r, 50).toFixed(2)} | ${percentileMs(r, 99).toFixed(2)} | ${r.rps.toFixed(0)} | ${bad} |`,
    );
  });
  // Deltas over the measured run (the state warm-up is left out).
  const cacheOf = (t: string[]) => t.flatMap((x) => samples(x, 'feedflow_feed_cache_requests_total'));
  const total = (list: ReturnType<typeof cacheOf>, level: string, result: string) =>
    list.filter((s) => s.labels.level === level && s.labels.result === result).reduce((n, s) => n + s.value, 0);
  const sum = (level: string, result: string) =>
    total(cacheOf(texts), level, result) - total(cacheOf(baseline), level, result);
  const [l1h, l1m, l2h, l2m] = [sum('l1', 'hit'), sum('l1', 'miss'), sum('l2', 'hit'), sum('l2', 'miss')];
  console.log(
    `hit ratio: L1 ${(l1h / Math.max(1, l1h + l1m)).toFixed(3)} (${l1h} of ${l1h + l1m}), L2 ${(l2h / Math.max(1, l2h + l2m)).toFixed(3)} (${l2h} of ${l2h + l2m} L1 misses), both tiers ${((l1h + l2h) / Math.max(1, l1h + l1m)).toFixed(3)} (goal ≥ 0.95)`,
  );
  const pages = texts.flatMap((t) => samples(t, 'feedflow_feed_page_seconds_bucket'));
  console.log('| first pages served from | count | p50 ms (bucket bound) | p99 ms (bucket bound) |');
  console.log('|---|---|---|---|');
  for (const tier of ['l1', 'l2', 'miss', 'unavailable']) {
    const byLe = new Map<number, number>();
    const add = (list: typeof pages, sign: number) => {
      for (const x of list.filter((y) => y.labels.tier === tier)) {
        const le = x.labels.le === '+Inf' ? Infinity : Number(x.labels.le);
        byLe.set(le, (byLe.get(le) ?? 0) + sign * x.value);
      }
    };
    add(pages, 1);
    add(
      baseline.flatMap((t) => samples(t, 'feedflow_feed_page_seconds_bucket')),
      -1,
    );
    const buckets = [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
    const n = buckets[buckets.length - 1]?.count ?? 0;
    if (!n) continue;
    const ms = (q: number) => (bucketQuantile(buckets, q) * 1000).toFixed(1);
    console.log(`| ${tier} | ${n} | ≤ ${ms(0.5)} | ≤ ${ms(0.99)} |`);
  }
}
