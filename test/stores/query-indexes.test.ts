import { strict as assert } from 'node:assert';
import type { Document } from 'mongodb';
import { Client as PgClient } from 'pg';
import { detectStoreKind, type StoreKind } from '../../stores/lookup';
import { ensureQueryIndexes, pushdownIndexName } from '../../stores/pushdown';
import { ensureReadModelIndexes } from '../../stores/read-model';
import { ensureWriteModelIndexes } from '../../stores/write-model';
import { openStores, type TestStores } from '../support/env';

/**
 * Every hot query shape, as the code issues it, explained on the configured server: on FerretDB the PostgreSQL
 * plan must reach the table through an index (a bitmap or index scan, never a sequential scan); on MongoDB the
 * winning plan must be an IXSCAN or an `_id` lookup, never a COLLSCAN. Drop an index and this fails.
 */

const VIEWERS = 200;
const ITEMS_PER_VIEWER = 60;
const t0 = Date.parse('2026-06-01T00:00:00Z');

interface Shape {
  name: string;
  collection: string;
  filter: Document;
  sort?: Document;
  limit?: number;
}

/** The shapes of services/, activities/ and stores/ that run per request, per fan-out page or per tick. */
const SHAPES: Shape[] = [
  // services/query/items.ts: a viewer's pushed items, newest first.
  {
    name: 'feed read',
    collection: 'feed_items',
    filter: { viewerId: 'v7', createdAt: { $lte: new Date(t0 + 1e9) } },
    sort: { createdAt: -1, postId: -1 },
    limit: 200,
  },
  { name: 'feed item by id', collection: 'feed_items', filter: { _id: 'v7:p7-3' } },
  { name: 'user by id', collection: 'users', filter: { _id: 'u7' } },
  { name: 'post by id', collection: 'posts', filter: { _id: 'p7-3' } },
  { name: 'relationship by id', collection: 'connections', filter: { _id: 'f-u7' } },
  { name: 'post summary by id', collection: 'post_summaries', filter: { _id: 'p7-3' } },
  { name: 'pull author by id', collection: 'pull_authors', filter: { _id: 'u7' } },
  // stores/feed-items.ts: edits, deletes and profile refreshes reach every item of a post or an author.
  { name: 'by-post update', collection: 'feed_items', filter: { postId: 'p7-3', version: { $lt: 2 } } },
  {
    name: 'by-actor update',
    collection: 'feed_items',
    filter: { 'actor.id': 'u7', 'actor.version': { $lt: 2 } },
  },
  // stores/feed-cap.ts, stores/projection-lag.ts: the cap sweep and the lag report find recent writes by minute.
  { name: 'recent writes by minute', collection: 'feed_items', filter: { projectedMinute: 7 } },
  { name: 'purge of an author', collection: 'feed_items', filter: { viewerId: 'v7', 'actor.id': 'u7' } },
  // services/query/items.ts: followed pull authors' posts, one author per read.
  {
    name: 'posts by author',
    collection: 'posts',
    filter: { authorId: 'u7', deleted: false, createdAt: { $gte: new Date(t0) } },
    sort: { createdAt: -1, _id: -1 },
    limit: 50,
  },
  { name: 'relationships from', collection: 'connections', filter: { from: 'u7', active: true } },
  { name: 'relationships to', collection: 'connections', filter: { to: 'u7', active: true } },
  // services/command: the outbox sweep, the idempotency lookups and the optimistic lock.
  {
    name: 'outbox pending',
    collection: 'events',
    filter: { status: 'pending', at: { $lte: new Date(t0 + 1e9) } },
    sort: { at: 1 },
    limit: 500,
  },
  { name: 'event by id', collection: 'events', filter: { _id: 'e7' } },
  { name: 'event by request key', collection: 'events', filter: { requestKey: 'svc/CreatePost/r7' } },
  {
    name: 'event by aggregate',
    collection: 'events',
    filter: { aggregateType: 'post', aggregateId: 'p7-3', aggregateVersion: 1 },
  },
  { name: 'command request by key', collection: 'command_requests', filter: { _id: 'svc/CreatePost/r7' } },
  // stores/read-time.ts: the members a viewer follows, whose pull authors are then read by id.
  { name: 'follows of a viewer', collection: 'connections', filter: { from: 'u7', type: 'follow', active: true } },
];

async function seed(stores: TestStores): Promise<void> {
  const { db } = stores;
  const items: Document[] = [];
  for (let v = 0; v < VIEWERS; v++) {
    for (let i = 0; i < ITEMS_PER_VIEWER; i++) {
      const author = (v + i) % VIEWERS;
      const postId = `p${author}-${i}`;
      items.push({
        _id: `v${v}:${postId}`,
        viewerId: `v${v}`,
        postId,
        version: 1,
        actor: { id: `u${author}`, name: 'A', headline: '', imageUrl: '', version: 1 },
        visibility: 'public',
        content: 'x'.repeat(200),
        createdAt: new Date(t0 + i * 1000),
        acceptedAt: new Date(t0),
        projectedAt: new Date(t0),
        projectedMinute: (v * ITEMS_PER_VIEWER + i) % 500,
        score: 1,
        reason: 'follow',
      });
    }
  }
  const n = items.length;
  const many = (name: string, docs: Document[]) =>
    docs.length ? db.collection(name).insertMany(docs, { ordered: false }) : Promise.resolve();
  const range = (k: number) => Array.from({ length: k }, (_, i) => i);
  await many('feed_items', items);
  await many(
    'users',
    range(VIEWERS * 10).map((i) => ({ _id: `u${i}`, email: `u${i}@example.com`, displayName: 'U', version: 1 })),
  );
  await many(
    'posts',
    range(n / 4).map((i) => ({
      _id: `p${i % VIEWERS}-${Math.floor(i / VIEWERS)}`,
      authorId: `u${i % VIEWERS}`,
      deleted: false,
      visibility: 'public',
      createdAt: new Date(t0 + i),
      version: 1,
    })),
  );
  await many(
    'post_summaries',
    range(n / 4).map((i) => ({ _id: `p${i % VIEWERS}-${Math.floor(i / VIEWERS)}`, authorId: `u${i % VIEWERS}` })),
  );
  await many(
    'connections',
    range(n / 4).map((i) => ({
      _id: `f-u${i}`,
      type: 'follow',
      from: `u${i % (VIEWERS * 10)}`,
      to: `u${(i * 7 + 1 + Math.floor(i / (VIEWERS * 10))) % (VIEWERS * 10)}`,
      active: true,
    })),
  );
  await many(
    'pull_authors',
    range(VIEWERS * 10).map((i) => ({ _id: `u${i}`, followers: i })),
  );
  await many(
    'events',
    range(n / 2).map((i) => ({
      _id: `e${i}`,
      aggregateType: 'post',
      aggregateId: `p${i % VIEWERS}-${Math.floor(i / VIEWERS)}`,
      aggregateVersion: 1 + Math.floor(i / (n / 4)),
      requestKey: `svc/CreatePost/r${i}`,
      status: i % 500 === 0 ? 'pending' : 'started',
      at: new Date(t0 + i),
    })),
  );
  await many(
    'command_requests',
    range(n / 2).map((i) => ({ _id: `svc/CreatePost/r${i}`, eventId: `e${i}` })),
  );
}

/** Every plan node of a PostgreSQL JSON plan (FerretDB passes it through as `queryPlanner`). */
function pgNodes(plan: Document): Document[] {
  const out: Document[] = [plan];
  for (const child of (plan.Plans as Document[] | undefined) ?? []) out.push(...pgNodes(child));
  return out;
}

/** Every stage of a MongoDB winning plan. */
function mongoStages(plan: Document): string[] {
  const out: string[] = [String(plan.stage)];
  for (const key of ['inputStage', 'queryPlan']) if (plan[key]) out.push(...mongoStages(plan[key] as Document));
  for (const child of (plan.inputStages as Document[] | undefined) ?? []) out.push(...mongoStages(child));
  return out;
}

describe('Hot queries are served by an index (explain on the configured server)', function () {
  this.timeout(180_000);
  let stores: TestStores;
  let kind: StoreKind;
  let pg: PgClient | undefined;

  const explain = async (s: Shape): Promise<Document> =>
    stores.db.command({
      explain: { find: s.collection, filter: s.filter, ...(s.sort ? { sort: s.sort } : {}), limit: s.limit ?? 0 },
      verbosity: 'queryPlanner',
    });

  /** The access paths of a plan: `index` when every read of the table goes through an index. */
  const accessOf = (res: Document): { index: boolean; detail: string } => {
    if (kind === 'ferretdb') {
      const planner = res.queryPlanner as Document;
      const nodes = pgNodes((planner.Plan ?? planner) as Document);
      const scans = nodes.filter((n) => /Scan$/.test(String(n['Node Type'])));
      const detail = scans.map((n) => `${String(n['Node Type'])}(${String(n['Index Name'] ?? '')})`).join(', ');
      const index = scans.length > 0 && scans.every((n) => String(n['Node Type']) !== 'Seq Scan');
      return { index: index && res.filterPushdown !== false, detail: `${detail}; pushdown ${res.filterPushdown}` };
    }
    const stages = mongoStages((res.queryPlanner as Document).winningPlan as Document);
    return {
      index:
        !stages.includes('COLLSCAN') &&
        stages.some(
          (s) =>
            s === 'IXSCAN' ||
            s === 'IDHACK' ||
            s === 'EXPRESS_IXSCAN' ||
            s === 'EXPRESS_CLUSTERED_IXSCAN' ||
            s === 'CLUSTERED_IXSCAN',
        ),
      detail: stages.join(' > '),
    };
  };

  before(async () => {
    stores = await openStores();
    kind = await detectStoreKind(stores.db);
    await Promise.all([ensureWriteModelIndexes(stores.db), ensureReadModelIndexes(stores.db)]);
    await ensureQueryIndexes(stores.db, stores.config);
    await seed(stores);
    if (kind === 'ferretdb') {
      // Fresh statistics, as autovacuum would gather them on a live store, so the planner's choice is the real one.
      pg = new PgClient({ connectionString: stores.config.FERRETDB_POSTGRESQL_URL });
      await pg.connect();
      const tables = await pg.query<{ t: string }>('SELECT tablename AS t FROM pg_tables WHERE schemaname = $1', [
        stores.config.MONGODB_DB,
      ]);
      for (const { t } of tables.rows) await pg.query(`ANALYZE "${stores.config.MONGODB_DB}"."${t}"`);
    }
  });
  after(async () => {
    await pg?.end();
    await stores?.close();
  });

  for (const shape of SHAPES) {
    it(`uses an index for the ${shape.name} (${shape.collection})`, async () => {
      const access = accessOf(await explain(shape));
      assert.ok(access.index, `${shape.name} on ${shape.collection} is not served by an index: ${access.detail}`);
    });
  }

  it('fails the check when the feed read loses its index (the test can tell)', async function () {
    if (kind !== 'ferretdb') this.skip();
    const table = (
      await pg!.query<{ t: string }>(
        `SELECT _jsonb->>'table' AS t FROM "${stores.config.MONGODB_DB}"._ferretdb_database_metadata WHERE _jsonb->>'_id' = 'feed_items'`,
      )
    ).rows[0].t;
    await pg!.query(`DROP INDEX "${stores.config.MONGODB_DB}"."${pushdownIndexName(table, 'viewerId')}"`);
    try {
      const access = accessOf(await explain(SHAPES[0]));
      assert.equal(access.index, false, `without its GIN index the feed read should scan: ${access.detail}`);
    } finally {
      await ensureQueryIndexes(stores.db, stores.config);
    }
    assert.ok(accessOf(await explain(SHAPES[0])).index, 'the start-up step puts the index back');
  });
});
