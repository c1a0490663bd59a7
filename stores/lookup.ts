import type { Collection, Db, Document, Filter, WithId } from 'mongodb';

/** The server behind MONGODB_URI: MongoDB itself, or FerretDB (on PostgreSQL) locally. */
export type StoreKind = 'mongodb' | 'ferretdb';

export async function detectStoreKind(db: Db): Promise<StoreKind> {
  const info = await db.admin().command({ buildInfo: 1 });
  return 'ferretdbVersion' in info ? 'ferretdb' : 'mongodb';
}

/**
 * Reads documents by a list of `_id`s, or of values of one field, in the way the server runs fastest. MongoDB
 * answers one `$in` query from its index. FerretDB pushes down only equalities, never `$in` (stores/pushdown.ts),
 * so there a `$in` is a scan of the table while parallel equality reads are each an index lookup.
 */
export interface IdLookup {
  byIds<T extends Document & { _id: string }>(
    coll: Collection<T>,
    ids: string[],
    projection?: Document,
  ): Promise<Array<WithId<T>>>;
  /**
   * Documents whose `field` is one of `values` and that match `rest`. With `sort` and `limit`, each value's reads
   * are sorted and limited on their own, so the caller gets at least the first `limit` of the union in some order
   * and sorts and limits the merge itself.
   */
  byValues<T extends Document>(
    coll: Collection<T>,
    field: string,
    values: Array<string | number>,
    rest?: Filter<T>,
    opts?: ValuesOptions,
  ): Promise<Array<WithId<T>>>;
  /**
   * An aggregation over the documents whose `field` is one of `values`: one `$in` pipeline on MongoDB, one pipeline
   * per value on FerretDB (a leading equality `$match` is pushed down). The `$group` key must include `field`, so
   * that the per-value results never need merging.
   */
  aggregateByValues<R extends Document>(
    coll: Collection<Document>,
    field: string,
    values: string[],
    match: Document,
    rest: Document[],
  ): Promise<R[]>;
  /** Deletes documents by `_id`; answers how many went. */
  deleteByIds<T extends Document & { _id: string }>(coll: Collection<T>, ids: string[]): Promise<number>;
  readonly pointReads: boolean;
}

const byDb = new WeakMap<Db, Promise<IdLookup>>();

/** The lookup for `db`, detected once per Db handle; a failed detection is retried by the next call. */
export function lookupFor(db: Db): Promise<IdLookup> {
  let found = byDb.get(db);
  if (!found) {
    found = detectIdLookup(db);
    byDb.set(db, found);
    found.catch(() => byDb.delete(db));
  }
  return found;
}

export interface ValuesOptions {
  projection?: Document;
  sort?: Record<string, 1 | -1>;
  limit?: number;
}

export async function detectIdLookup(db: Db): Promise<IdLookup> {
  return createIdLookup((await detectStoreKind(db)) === 'ferretdb');
}

/** Equality reads in flight at once per call: enough to hide round trips, few enough to leave the pool to others. */
const PARALLEL_READS = 16;

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  });
  await Promise.all(lanes);
  return out;
}

export function createIdLookup(pointReads: boolean): IdLookup {
  const byValues = async <T extends Document>(
    coll: Collection<T>,
    field: string,
    values: Array<string | number>,
    rest: Filter<T> = {},
    opts: ValuesOptions = {},
  ): Promise<Array<WithId<T>>> => {
    const unique = [...new Set(values)];
    if (!unique.length) return [];
    const read = (filter: Filter<T>) => {
      let cursor = coll.find(filter, opts.projection ? { projection: opts.projection } : {});
      if (opts.sort) cursor = cursor.sort(opts.sort);
      if (opts.limit) cursor = cursor.limit(opts.limit);
      return cursor.toArray();
    };
    if (!pointReads) return read({ ...rest, [field]: { $in: unique } } as Filter<T>);
    const pages = await mapLimited(unique, PARALLEL_READS, (v) => read({ ...rest, [field]: v } as Filter<T>));
    return pages.flat();
  };
  return {
    pointReads,
    byValues,
    async deleteByIds<T extends Document & { _id: string }>(coll: Collection<T>, ids: string[]): Promise<number> {
      const unique = [...new Set(ids)];
      if (!unique.length) return 0;
      if (!pointReads) return (await coll.deleteMany({ _id: { $in: unique } } as unknown as Filter<T>)).deletedCount;
      const counts = await mapLimited(
        unique,
        PARALLEL_READS,
        async (id) => (await coll.deleteOne({ _id: id } as unknown as Filter<T>)).deletedCount,
      );
      return counts.reduce((a, b) => a + b, 0);
    },
    async aggregateByValues<R extends Document>(
      coll: Collection<Document>,
      field: string,
      values: string[],
      match: Document,
      rest: Document[],
    ): Promise<R[]> {
      const unique = [...new Set(values)];
      if (!unique.length) return [];
      const run = (value: unknown) => coll.aggregate<R>([{ $match: { [field]: value, ...match } }, ...rest]).toArray();
      if (!pointReads) return run({ $in: unique });
      return (await mapLimited(unique, PARALLEL_READS, run)).flat();
    },
    async byIds<T extends Document & { _id: string }>(coll: Collection<T>, ids: string[], projection?: Document) {
      const unique = [...new Set(ids)];
      if (!unique.length) return [];
      if (!pointReads) {
        return coll.find({ _id: { $in: unique } } as unknown as Filter<T>, projection ? { projection } : {}).toArray();
      }
      const found = await mapLimited(unique, PARALLEL_READS, (id) =>
        coll.findOne({ _id: id } as unknown as Filter<T>, projection ? { projection } : {}),
      );
      return found.filter((d): d is NonNullable<typeof d> => d !== null) as Array<WithId<T>>;
    },
  };
}
