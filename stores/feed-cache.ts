import type { Db } from 'mongodb';

/**
 * Cross-process invalidation of cached feed pages. The projection pipeline calls `invalidateFeeds` after it
 * writes, purges or deletes items for some viewers: it retires their shared (L2) sessions at once and logs an
 * invalidation that every query process tails to evict its in-process (L1) entries.
 */
export interface InvalidationDoc {
  at: Date;
  viewerIds: string[];
  /** Set when a post was deleted: every cached page holding it must go, whoever the viewer. */
  postId?: string;
}

export const INVALIDATIONS = 'feed_invalidations';
export const SESSIONS = 'feed_sessions';

export async function invalidateFeeds(db: Db, viewerIds: string[], postId?: string): Promise<void> {
  if (!viewerIds.length && !postId) return;
  const sessions = db.collection(SESSIONS);
  if (viewerIds.length)
    await sessions.updateMany({ viewerId: { $in: viewerIds }, current: true }, { $set: { current: false } });
  if (postId) await sessions.updateMany({ 'entries.postId': postId, current: true }, { $set: { current: false } });
  await db
    .collection<InvalidationDoc>(INVALIDATIONS)
    .insertOne({ at: new Date(), viewerIds, ...(postId ? { postId } : {}) });
}

export async function ensureFeedCacheIndexes(db: Db): Promise<void> {
  await db.collection(INVALIDATIONS).createIndex({ at: 1 }, { name: 'at' });
}
