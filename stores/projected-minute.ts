import { bucketsBetween, timeBucket } from './feed-cache';

/** The minute buckets of `FeedItemDoc.projectedMinute`, shared by the writes that stamp it and the readers of it. */

export const PROJECTED_BUCKET_MS = 60_000;

export const projectedMinuteOf = (at: Date): number => timeBucket(at.getTime(), PROJECTED_BUCKET_MS);

/** Writers' clocks may run ahead of ours; items stamped up to this far in the future still count as recent. */
const CLOCK_SKEW_MS = 10 * 60_000;

/** The minutes an item projected since `since` can carry. */
export const recentMinutes = (since: Date): number[] =>
  bucketsBetween(since.getTime(), Math.max(Date.now(), since.getTime()) + CLOCK_SKEW_MS, PROJECTED_BUCKET_MS);
