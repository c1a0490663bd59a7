/**
 * `npm run bench:ranking`: throughput and latency of engagement scoring, beside raw onnxruntime on the same
 * batches, and the model's offline quality. A benchmark, not a test: it prints numbers.
 *
 * Seeds a synthetic network into the write model of its own database on the local stack (dropped afterwards),
 * then, per batch of 512 (viewer, post) pairs:
 * - scoring step: feature rows built and validated from assembled inputs, scored through the model store;
 * - raw: `session.run` on the same, prebuilt tensors (the ceiling);
 * - end to end: the `scoreItems` activity, feature assembly from the write model included.
 * Raw and scoring runs alternate batch by batch so both see the same machine load.
 *
 * On the dev stack, FerretDB's SQLite backend filters `$in` by scanning the collection, so assembly and end-to-end
 * figures are far below what MongoDB 7's indexes give; the scoring figures do not touch the database.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MongoClient } from 'mongodb';
import { Tensor } from 'onnxruntime-node';
import { createRankingActivities } from '../activities/ranking';
import { connectionId, followId } from '../domain/ids';
import { loadConfig, sharedNamespaceEnv } from '../lib/config';
import type { ScoringPair } from '../ranking/features';
import { buildFeatureMatrix, type FeatureInputs } from '../ranking/schema';
import { closeEngagementModels, DEFAULT_BATCH_SIZE, loadEngagementModel } from '../stores/model';
import { ensureQueryIndexes } from '../stores/pushdown';
import { assembleFeatureInputs } from '../stores/ranking-inputs';
import {
  ensureWriteModelIndexes,
  type EngagementDoc,
  ENGAGEMENT_KINDS,
  POST_TYPES,
  type PostDoc,
  type RelationshipDoc,
  writeModel,
} from '../stores/write-model';
import { acceptedRelationship } from './seed';

const USERS = Number(process.env.BENCH_USERS ?? 1000);
const POSTS = Number(process.env.BENCH_POSTS ?? 2000);
/** Pairs assembled from the write model; the scoring comparison replays their batches ROUNDS times. */
const ITEMS = Number(process.env.BENCH_ITEMS ?? 2048);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 50);
const THREADS = Number(process.env.BENCH_THREADS ?? 1);
const BATCH = DEFAULT_BATCH_SIZE;

/** mulberry32: a small seeded generator, so every run benchmarks the same world. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function seed(db: ReturnType<MongoClient['db']>, now: number): Promise<ScoringPair[]> {
  const rand = rng(42);
  const pick = (n: number) => Math.floor(rand() * n);
  const user = (i: number) => `u${String(i).padStart(5, '0')}`;
  const wm = writeModel(db);
  await db.dropDatabase();
  await ensureWriteModelIndexes(db);
  await ensureQueryIndexes(db, loadConfig());
  const at = new Date(now);

  const rels = new Map<string, RelationshipDoc>();
  const audience: string[][] = Array.from({ length: USERS }, () => []);
  const relDoc = (id: string, type: RelationshipDoc['type'], from: string, to: string): RelationshipDoc =>
    acceptedRelationship(id, type, from, to, at);
  for (let i = 0; i < USERS; i++) {
    for (let k = 0; k < 4; k++) {
      // Mostly near neighbours, so second-degree paths exist.
      const j = rand() < 0.8 ? (i + 1 + pick(50)) % USERS : pick(USERS);
      if (j === i || rels.has(connectionId(user(i), user(j)))) continue;
      rels.set(connectionId(user(i), user(j)), relDoc(connectionId(user(i), user(j)), 'connection', user(i), user(j)));
      audience[i].push(user(j));
      audience[j].push(user(i));
    }
    for (let k = 0; k < 5; k++) {
      const j = Math.floor(Math.pow(rand(), 3) * USERS); // popular accounts get most follows
      if (j === i || rels.has(followId(user(i), user(j)))) continue;
      rels.set(followId(user(i), user(j)), relDoc(followId(user(i), user(j)), 'follow', user(i), user(j)));
      audience[j].push(user(i));
    }
  }
  const posts: PostDoc[] = Array.from({ length: POSTS }, (_, p) => {
    const createdAt = new Date(now - Math.floor(rand() * 7 * 86_400_000));
    const type = POST_TYPES[pick(POST_TYPES.length)];
    return {
      _id: `p${String(p).padStart(6, '0')}`,
      authorId: user(Math.floor(Math.pow(rand(), 2) * USERS)),
      content: 'x'.repeat(20 + pick(600)),
      visibility: 'public',
      type,
      mediaUrls: type === 'image' || type === 'video' ? ['https://media.example/1'] : [],
      version: 1,
      deleted: false,
      createdAt,
      updatedAt: createdAt,
    };
  });
  const engagements: EngagementDoc[] = [];
  for (const post of posts) {
    const n = Math.floor(Math.pow(rand(), 4) * 30);
    for (let k = 0; k < n; k++) {
      engagements.push({
        _id: `e${engagements.length}`,
        postId: post._id,
        userId: user(pick(USERS)),
        kind: ENGAGEMENT_KINDS[pick(ENGAGEMENT_KINDS.length)],
        version: 1,
        createdAt: new Date(post.createdAt.getTime() + pick(now - post.createdAt.getTime())),
      });
    }
  }
  const chunks = <T>(xs: T[]) =>
    Array.from({ length: Math.ceil(xs.length / 5000) }, (_, i) => xs.slice(i * 5000, (i + 1) * 5000));
  for (const c of chunks([...rels.values()])) await wm.relationships.insertMany(c, { ordered: false });
  for (const c of chunks(posts)) await wm.posts.insertMany(c, { ordered: false });
  for (const c of chunks(engagements)) await wm.engagements.insertMany(c, { ordered: false });
  console.log(
    `seeded ${USERS} members, ${rels.size} relationships, ${posts.length} posts, ${engagements.length} engagements`,
  );

  // Fan-out shaped pairs: a post with its author's whole audience, plus a few strangers (discovery), post after
  // post, so a batch of 512 holds a few dozen posts, as a fan-out, backfill or rollout page would.
  const pairs: ScoringPair[] = [];
  while (pairs.length < ITEMS) {
    const post = posts[pick(posts.length)];
    for (const viewerId of audience[Number(post.authorId.slice(1))]) pairs.push({ viewerId, postId: post._id });
    for (let k = 0; k < 2; k++) pairs.push({ viewerId: user(pick(USERS)), postId: post._id });
  }
  return pairs.slice(0, ITEMS);
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

interface Series {
  ms: number[];
  items: number;
}
const rate = (s: Series) => s.items / (s.ms.reduce((a, b) => a + b, 0) / 1000);
const line = (name: string, s: Series) =>
  `${name.padEnd(34)} ${fmt(rate(s)).padStart(10)} items/s   p50 ${fmt(pct(s.ms, 50), 2).padStart(7)} ms   p99 ${fmt(pct(s.ms, 99), 2).padStart(7)} ms`;

async function main(): Promise<void> {
  const config = loadConfig(
    sharedNamespaceEnv({ ...process.env, MONGODB_DB: 'feedflow_bench_ranking', LOG_LEVEL: 'warn' }),
  );
  const mongo = await MongoClient.connect(config.MONGODB_URI, { serverSelectionTimeoutMS: 10_000 });
  try {
    const db = mongo.db(config.MONGODB_DB);
    const now = Date.parse('2026-03-01T12:00:00Z');
    const pairs = await seed(db, now);
    const batches = Array.from({ length: Math.ceil(pairs.length / BATCH) }, (_, i) =>
      pairs.slice(i * BATCH, (i + 1) * BATCH),
    );
    const model = await loadEngagementModel(undefined, { threads: THREADS });
    const { session, info } = model;

    // Feature assembly alone, once per batch; its inputs feed the scoring comparison below.
    const wm = writeModel(db);
    const assembly: Series = { ms: [], items: 0 };
    const inputs: FeatureInputs[][] = [];
    for (const batch of batches) {
      const t0 = performance.now();
      const { rows } = await assembleFeatureInputs(wm, batch, { at: new Date(now) });
      assembly.ms.push(performance.now() - t0);
      assembly.items += rows.length;
      inputs.push(rows.map((r) => r.inputs));
    }
    console.log(`assembled ${batches.length} batches`);
    const prebuilt = inputs.map((rows) => buildFeatureMatrix(rows, model.schema));

    const scoring: Series = { ms: [], items: 0 };
    const raw: Series = { ms: [], items: 0 };
    for (let round = -1; round < ROUNDS; round++) {
      for (let b = 0; b < inputs.length; b++) {
        const n = inputs[b].length;
        let t0 = performance.now();
        const tensor = new Tensor('float32', prebuilt[b], [n, info.features]);
        await session.run({ [info.inputName]: tensor });
        const rawMs = performance.now() - t0;
        t0 = performance.now();
        await model.score(buildFeatureMatrix(inputs[b], model.schema), n);
        const scoreMs = performance.now() - t0;
        if (round < 0) continue; // warm-up
        raw.ms.push(rawMs);
        raw.items += n;
        scoring.ms.push(scoreMs);
        scoring.items += n;
      }
    }

    const { scoreItems } = createRankingActivities({ db, model: { threads: THREADS } });
    const e2e: Series = { ms: [], items: 0 };
    for (const batch of batches) {
      const t0 = performance.now();
      const res = await scoreItems({ items: batch, scoredAt: now });
      e2e.ms.push(performance.now() - t0);
      e2e.items += res.scores.length;
    }

    console.log(
      `\nmodel ${info.modelVersion} (${info.features} features), ${pairs.length} pairs in batches of ${BATCH}, ` +
        `scoring replayed ${ROUNDS} times, onnxruntime threads ${THREADS}\n`,
    );
    console.log(line('raw session.run', raw));
    console.log(line('scoring step (build+validate+run)', scoring));
    console.log(
      `${'ratio scoring / raw'.padEnd(34)} ${fmt(rate(scoring) / rate(raw), 3).padStart(10)}   (goal >= 0.8)`,
    );
    console.log(line('feature assembly (write model)', assembly));
    console.log(line('end to end (scoreItems activity)', e2e));

    const metrics = JSON.parse(readFileSync(resolve(__dirname, '../models/engagement-v1.metrics.json'), 'utf8')) as {
      data: { trainRows: number; holdoutRows: number };
      quality: Array<{ name: string; auc: number; ndcg20: number }>;
    };
    console.log(
      `\noffline quality on the holdout (${fmt(metrics.data.holdoutRows)} impressions, ` +
        `trained on ${fmt(metrics.data.trainRows)}; models/MODEL_CARD.md)\n`,
    );
    console.log(`${'scorer'.padEnd(40)} ${'AUC'.padStart(7)} ${'NDCG@20'.padStart(8)}`);
    for (const q of metrics.quality) {
      console.log(`${q.name.padEnd(40)} ${q.auc.toFixed(4).padStart(7)} ${q.ndcg20.toFixed(4).padStart(8)}`);
    }
  } finally {
    await mongo
      .db(config.MONGODB_DB)
      .dropDatabase()
      .catch(() => undefined);
    await closeEngagementModels();
    await mongo.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
