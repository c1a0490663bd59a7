import { isDuplicateKey } from './mongo-errors';
import type { EngagementCounts, PostSummaryDoc, ReadModel } from './read-model';

const ZERO_ENGAGEMENT: EngagementCounts = { likes: 0, comments: 0, shares: 0, views: 0 };

/**
 * Writes a post's summary, guarded by version; returns false when a newer one is already there. Insert first: a
 * new post (the fan-out's case) costs one insert, where a filtered upsert costs FerretDB a scan and a slow write.
 */
export async function upsertPostSummary(
  rm: ReadModel,
  summary: Omit<PostSummaryDoc, 'engagement' | 'engagementTotal' | 'updatedAt'>,
): Promise<boolean> {
  const updatedAt = new Date();
  try {
    await rm.postSummaries.insertOne({ ...summary, engagement: ZERO_ENGAGEMENT, engagementTotal: 0, updatedAt });
    return true;
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
  const { _id, ...fields } = summary;
  const res = await rm.postSummaries.updateOne(
    { _id, version: { $lt: summary.version } },
    { $set: { ...fields, updatedAt } },
  );
  return res.modifiedCount > 0;
}

/** Marks a post deleted at once (the query side hides it) before its items are purged. */
export async function tombstonePost(rm: ReadModel, postId: string, authorId: string, version: number): Promise<void> {
  try {
    await rm.postSummaries.updateOne(
      { _id: postId, version: { $lt: version } },
      {
        $set: { deleted: true, version, authorId, updatedAt: new Date() },
        $setOnInsert: {
          visibility: 'private',
          createdAt: new Date(0),
          audienceSize: 0,
          engagement: ZERO_ENGAGEMENT,
          engagementTotal: 0,
        },
      },
      { upsert: true },
    );
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
}

/** Stores recounted engagement; a recount never replaces one that had seen more engagements. */
export async function setEngagement(
  rm: ReadModel,
  postId: string,
  engagement: EngagementCounts,
  total: number,
): Promise<boolean> {
  try {
    const res = await rm.postSummaries.updateOne(
      { _id: postId, engagementTotal: { $lt: total } },
      {
        $set: { engagement, engagementTotal: total, updatedAt: new Date() },
        // Engagement can be projected before the post's own summary; version 0 lets that summary land later.
        $setOnInsert: {
          authorId: '',
          version: 0,
          visibility: 'private',
          createdAt: new Date(0),
          deleted: false,
          audienceSize: 0,
        },
      },
      { upsert: true },
    );
    return res.modifiedCount + res.upsertedCount > 0;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}
