import { MongoBulkWriteError } from 'mongodb';
import { invalidateFeeds } from './feed-cache';
import { isDuplicateKey } from './mongo-errors';
import { projectedMinuteOf } from './projected-minute';
import type { ActorSnapshot, FeedItemContent, FeedItemDoc, ReadModel } from './read-model';

/**
 * The feed-item writes of the projection pipeline. They insert first and touch existing items by `_id`: one round
 * trip for a new page, and on FerretDB every filter an equality its GIN indexes serve (stores/pushdown.ts).
 */

/** Runs `fn` over `items` with at most `limit` in flight. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(lanes);
}

function contentOf(item: FeedItemDoc): FeedItemContent & { projectedMinute: number } {
  const { version, actor, type, content, mediaUrls, visibility, acceptedAt, projectedAt } = item;
  const projectedMinute = projectedMinuteOf(projectedAt);
  return { version, actor, type, content, mediaUrls, visibility, acceptedAt, projectedAt, projectedMinute };
}

export interface FeedWriteResult {
  /** New items. */
  inserted: number;
  /** Existing items moved to a newer version. */
  upgraded: number;
  /** Items already at this version or a newer one (replays). */
  unchanged: number;
}

/**
 * Writes feed items, guarded by version: new items are inserted in one batch; an item that already exists is
 * moved forward only if it holds an older version. Replaying the same page therefore changes nothing.
 */
export async function writeFeedItems(rm: ReadModel, page: FeedItemDoc[]): Promise<FeedWriteResult> {
  const result: FeedWriteResult = { inserted: 0, upgraded: 0, unchanged: 0 };
  if (page.length === 0) return result;
  const items = page.map((item) => ({ ...item, projectedMinute: projectedMinuteOf(item.projectedAt) }));
  let existing: FeedItemDoc[] = [];
  try {
    result.inserted = (await rm.feedItems.insertMany(items, { ordered: false })).insertedCount;
  } catch (err) {
    if (!(err instanceof MongoBulkWriteError)) throw err;
    const errors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
    const other = errors.find((e) => e.code !== 11000);
    if (other) throw new Error(`feed item write failed: ${other.errmsg ?? other.code}`, { cause: err });
    // Only what the server confirmed counts: every item must be either inserted or a reported duplicate. A
    // batch-level failure (the store refusing a batch, a dropped connection) reports neither for some items, and
    // those may be missing, so the write fails and Temporal retries the page, where they insert or are duplicates.
    const unconfirmed = items.length - err.insertedCount - errors.length;
    if (unconfirmed > 0) {
      throw new Error(
        `feed item write unconfirmed: ${unconfirmed} of ${items.length} items neither inserted nor duplicates ` +
          `(${err.message}); retrying`,
        { cause: err },
      );
    }
    existing = errors.map((e) => items[e.index]);
    result.inserted = err.insertedCount;
  }
  // Versions start at 1, so an existing item can never be older than a version-1 write: skip the reads. This
  // makes a replayed fan-out of a never-edited post as cheap as the first run.
  result.unchanged += existing.filter((item) => item.version <= 1).length;
  existing = existing.filter((item) => item.version > 1);
  await eachLimited(existing, 16, async (item) => {
    const current = await rm.feedItems.findOne({ _id: item._id }, { projection: { version: 1 } });
    if (current && current.version >= item.version) {
      result.unchanged++;
      return;
    }
    if (!current) {
      // Purged between the insert and this read: write it again, as a retry would.
      try {
        await rm.feedItems.insertOne(item);
        result.inserted++;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        result.unchanged++;
      }
      return;
    }
    const res = await rm.feedItems.updateOne(
      { _id: item._id, version: { $lt: item.version } },
      { $set: contentOf(item) },
    );
    if (res.modifiedCount) result.upgraded++;
    else result.unchanged++;
  });
  return result;
}

/** Moves every existing item of a post to a newer version; items at that version or newer are left alone. */
export async function updatePostItems(
  rm: ReadModel,
  postId: string,
  fields: Omit<FeedItemContent, 'actor'>,
): Promise<number> {
  const res = await rm.feedItems.updateMany(
    { postId, version: { $lt: fields.version } },
    { $set: { ...fields, projectedMinute: projectedMinuteOf(fields.projectedAt) } },
  );
  return res.modifiedCount;
}

/** Rewrites the actor snapshot in every item by this actor that shows an older profile version. */
export async function refreshActorItems(rm: ReadModel, actor: ActorSnapshot): Promise<number> {
  const res = await rm.feedItems.updateMany(
    { 'actor.id': actor.id, 'actor.version': { $lt: actor.version } },
    { $set: { actor } },
  );
  // Cached pages showing this author's items must not outlive the refresh.
  if (res.modifiedCount) await invalidateFeeds(rm.feedItems.db, [], { authorId: actor.id });
  return res.modifiedCount;
}

/** Removes a post from every feed; returns how many items went. */
export async function deletePostItems(rm: ReadModel, postId: string): Promise<number> {
  return (await rm.feedItems.deleteMany({ postId })).deletedCount;
}

/**
 * Removes an author's items from one viewer's feed. `keepPublic` keeps public posts (the viewer still follows),
 * so only posts shared with connections go.
 */
export async function purgeAuthorItems(
  rm: ReadModel,
  viewerId: string,
  authorId: string,
  keepPublic: boolean,
): Promise<number> {
  const filter = { viewerId, 'actor.id': authorId, ...(keepPublic ? { visibility: { $ne: 'public' as const } } : {}) };
  return (await rm.feedItems.deleteMany(filter)).deletedCount;
}
