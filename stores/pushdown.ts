import { createHash } from 'node:crypto';
import type { Db } from 'mongodb';
import { Client as PgClient } from 'pg';
import { detectStoreKind } from './lookup';

/**
 * Indexes that make FerretDB on PostgreSQL serve our equality filters.
 *
 * FerretDB keeps each collection as a PostgreSQL table of one jsonb column and pushes an equality filter down as
 * containment, `_jsonb->'field' @> '"value"'` (a dotted field as `_jsonb #> '{a,b}' @> ...`). The btree expression
 * indexes its `createIndex` makes cannot serve `@>`, so every filtered read would be a sequential scan. A GIN index
 * on the very same expression can: PostgreSQL answers with a bitmap index scan. FerretDB cannot create such an
 * index itself, so we create it in PostgreSQL directly, next to the table FerretDB made, once per start and
 * idempotently. FerretDB never sees it (its own catalogue lists only its own indexes) and dropping the collection
 * or the database drops it with the table. On MongoDB none of this runs: its btree indexes serve these filters.
 *
 * `$in` and range conditions are never pushed down, and sorts and limits only without a filter, so the queries are
 * shaped around this: an equality on the most selective field, the rest filtered and sorted by FerretDB in memory
 * over that field's few hundred rows (see stores/lookup.ts for reads by many ids or values).
 *
 * One more limit shapes the writes: FerretDB holds a pooled PostgreSQL connection for every statement of one update
 * command until the command ends, so an update command of more statements than its pool (50; a `bulkWrite` of
 * updates) waits on itself forever and stalls the whole server (seen in a goroutine dump: 50 connections watched by
 * one `update`). Lint forbids `bulkWrite` in production code; updates go one document at a time, in parallel.
 */

/** Collections and the fields their hot queries filter on by equality. `_id` is indexed for every collection. */
export const PUSHDOWN_FIELDS: Record<string, string[]> = {
  users: ['email'],
  posts: ['authorId'],
  connections: ['from', 'to'],
  engagements: ['postId', 'userId'],
  events: ['status', 'requestKey', 'aggregateId'],
  command_requests: [],
  feed_items: ['viewerId', 'postId', 'actor.id', 'projectedMinute'],
  post_summaries: ['authorId'],
  pull_authors: [],
  pull_gaps: ['authorId'],
  network_summaries: [],
  consistency_reports: ['workflowId', 'scope'],
  system_pings: [],
};

const METADATA_TABLE = '_ferretdb_database_metadata';

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
const quoteLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** The SQL expression FerretDB's pushdown compares for `field`, which the index must repeat exactly. */
export function pushdownExpression(field: string): string {
  const path = field.split('.');
  if (path.length === 1) return `(_jsonb -> ${quoteLiteral(field)})`;
  return `(_jsonb #> ${quoteLiteral(`{${path.join(',')}}`)})`;
}

/** Stable, at most 63 bytes (PostgreSQL's limit), readable in an EXPLAIN. */
export function pushdownIndexName(table: string, field: string): string {
  const hash = createHash('sha256').update(`${table}\0${field}`).digest('hex').slice(0, 10);
  return `ffpd_${field.replace(/\W/g, '_').slice(0, 40)}_${hash}`;
}

export interface PushdownReport {
  /** Indexes created by this call (0 when all were there). */
  created: number;
  /** Indexes checked in all. */
  indexes: number;
}

/**
 * Creates the GIN pushdown indexes of `fields` (all feedflow collections by default) in the PostgreSQL database
 * behind FerretDB. Collections that do not exist yet are created first, so the index is there before the first
 * write. Safe to run from several processes at once.
 */
export async function ensurePushdownIndexes(
  db: Db,
  postgresUrl: string,
  fields: Record<string, string[]> = PUSHDOWN_FIELDS,
): Promise<PushdownReport> {
  const existing = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  for (const name of Object.keys(fields)) {
    if (existing.has(name)) continue;
    await db.createCollection(name).catch((err: { code?: number }) => {
      if (err.code !== 48) throw err; // NamespaceExists: another process made it first
    });
  }
  const pg = new PgClient({ connectionString: postgresUrl, connectionTimeoutMillis: 10_000 });
  await pg.connect();
  const report: PushdownReport = { created: 0, indexes: 0 };
  try {
    const schema = db.databaseName;
    const meta = await pg.query<{ coll: string; tbl: string }>(
      `SELECT _jsonb->>'_id' AS coll, _jsonb->>'table' AS tbl FROM ${quoteIdent(schema)}.${quoteIdent(METADATA_TABLE)}`,
    );
    const tableOf = new Map(meta.rows.map((r) => [r.coll, r.tbl]));
    for (const [collection, extra] of Object.entries(fields)) {
      const table = tableOf.get(collection);
      if (!table) throw new Error(`FerretDB has no table for collection ${schema}.${collection}; retry the start`);
      for (const field of ['_id', ...extra]) {
        report.indexes++;
        if (await createGinIndex(pg, schema, table, field)) report.created++;
      }
    }
  } finally {
    await pg.end();
  }
  return report;
}

async function createGinIndex(pg: PgClient, schema: string, table: string, field: string): Promise<boolean> {
  const name = pushdownIndexName(table, field);
  const exists = async () =>
    (await pg.query('SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = $2', [schema, name])).rowCount ===
    1;
  if (await exists()) return false;
  const sql =
    `CREATE INDEX IF NOT EXISTS ${quoteIdent(name)} ON ${quoteIdent(schema)}.${quoteIdent(table)} ` +
    `USING gin (${pushdownExpression(field)} jsonb_path_ops)`;
  try {
    await pg.query(sql);
    return true;
  } catch (err) {
    // Two processes starting together race on the catalogue: the loser sees a unique violation (23505) or
    // "already exists" (42P07). Either way the index is there, which is all we need; anything else is real.
    const code = (err as { code?: string }).code;
    if ((code === '23505' || code === '42P07') && (await exists())) return false;
    throw err;
  }
}

/**
 * Run by every process at start, after its collections' own `createIndex` calls: on FerretDB, the GIN indexes of
 * every feedflow collection; on MongoDB, nothing.
 */
export async function ensureQueryIndexes(
  db: Db,
  config: { FERRETDB_POSTGRESQL_URL: string },
): Promise<PushdownReport | null> {
  if ((await detectStoreKind(db)) !== 'ferretdb') return null;
  return ensurePushdownIndexes(db, config.FERRETDB_POSTGRESQL_URL);
}
