import type { Collection, Db, Document, Filter, WithId } from 'mongodb';

/**
 * Reads documents by a list of `_id`s in the way the server runs fastest. MongoDB answers one `$in` query from
 * its index; FerretDB's SQLite backend pushes down only a single `_id` equality, so there a `$in` is a collection
 * scan while parallel point reads stay cheap.
 */
export interface IdLookup {
  byIds<T extends Document & { _id: string }>(
    coll: Collection<T>,
    ids: string[],
    projection?: Document,
  ): Promise<Array<WithId<T>>>;
  readonly pointReads: boolean;
}

export async function detectIdLookup(db: Db): Promise<IdLookup> {
  const info = await db.admin().command({ buildInfo: 1 });
  return createIdLookup('ferretdbVersion' in info);
}

export function createIdLookup(pointReads: boolean): IdLookup {
  return {
    pointReads,
    async byIds<T extends Document & { _id: string }>(coll: Collection<T>, ids: string[], projection?: Document) {
      const unique = [...new Set(ids)];
      if (!unique.length) return [];
      if (!pointReads) {
        return coll.find({ _id: { $in: unique } } as unknown as Filter<T>, projection ? { projection } : {}).toArray();
      }
      const found = await Promise.all(
        unique.map((id) => coll.findOne({ _id: id } as unknown as Filter<T>, projection ? { projection } : {})),
      );
      return found.filter((d): d is NonNullable<typeof d> => d !== null);
    },
  };
}
