import type { Db } from 'mongodb';

/**
 * Cross-process invalidation of cached feed pages. The projection pipeline calls `invalidateFeeds` after it
 * writes, purges or deletes items for some viewers. It appends one entry to an invalidation log; every query
 * process tails the log, and a cached session built before a viewer's latest entry no longer serves first pages,
 * whether it sits in the process (L1) or in the shared store (L2). One insert per call keeps the cost off the
 * fan-out's hot path.
 */
export interface InvalidationDoc {
  at: Date;
  /** `at` in whole INVALIDATION_BUCKET_MS: the equality the tail reads by (FerretDB pushes down no ranges). */
  bucket: number;
  viewerIds: string[];
  /** Set when a post was deleted or edited: every cached page holding it must go, whoever the viewer. */
  postId?: string;
  /** Set when an author's profile changed: every cached page showing their items must go. */
  authorId?: string;
}

export const INVALIDATIONS = 'feed_invalidations';
export const INVALIDATION_BUCKET_MS = 2_000;

/** Which fixed-width time bucket `t` (ms) falls in. */
export const timeBucket = (t: number, widthMs: number): number => Math.floor(t / widthMs);

/** Every bucket from the one holding `from` to the one holding `to`, oldest first. */
export function bucketsBetween(from: number, to: number, widthMs: number): number[] {
  const out: number[] = [];
  for (let b = timeBucket(from, widthMs); b <= timeBucket(to, widthMs); b++) out.push(b);
  return out;
}
export const SESSIONS = 'feed_sessions';

export async function invalidateFeeds(
  db: Db,
  viewerIds: string[],
  scope: { postId?: string; authorId?: string } = {},
): Promise<void> {
  if (!viewerIds.length && !scope.postId && !scope.authorId) return;
  const at = new Date();
  const bucket = timeBucket(at.getTime(), INVALIDATION_BUCKET_MS);
  await db.collection<InvalidationDoc>(INVALIDATIONS).insertOne({ at, bucket, viewerIds, ...scope });
}

export async function ensureFeedCacheIndexes(db: Db): Promise<void> {
  await Promise.all([
    db.collection(INVALIDATIONS).createIndex({ at: 1 }, { name: 'at' }),
    db.collection(INVALIDATIONS).createIndex({ bucket: 1, at: 1 }, { name: 'bucket_at' }),
  ]);
}
