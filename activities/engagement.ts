import type { EngagementResult } from '../pipeline/contracts/projection';
import { cacheEngagement } from '../stores/feed-cache';
import { setEngagement } from '../stores/post-summaries';
import { type EngagementCounts, readModel } from '../stores/read-model';
import { type EngagementKind, writeModel } from '../stores/write-model';
import type { ProjectionDeps } from './deps';

const COUNTER: Record<EngagementKind, keyof EngagementCounts> = {
  like: 'likes',
  comment: 'comments',
  share: 'shares',
  view: 'views',
};

/** The activities of createEngagementActivities, as workflows proxy them. */
export interface EngagementActivities {
  recountEngagement(postId: string): Promise<EngagementResult>;
}

/** Engagement counters per post, recounted from the write model so a replay or a lost event cannot skew them. */
export function createEngagementActivities({ db }: ProjectionDeps): EngagementActivities {
  const wm = writeModel(db);
  const rm = readModel(db);

  return {
    /** Recounts the post's likes, comments, shares and views into its summary. */
    async recountEngagement(postId: string): Promise<EngagementResult> {
      const rows = await wm.engagements
        .aggregate<{ _id: keyof typeof COUNTER; n: number }>([
          { $match: { postId } },
          { $group: { _id: '$kind', n: { $sum: 1 } } },
        ])
        .toArray();
      const counts: EngagementCounts = { likes: 0, comments: 0, shares: 0, views: 0 };
      let total = 0;
      for (const row of rows) {
        if (!(row._id in COUNTER)) continue;
        counts[COUNTER[row._id]] = row.n;
        total += row.n;
      }
      await setEngagement(rm, postId, counts, total);
      // Feed pages read counts from the cache (one HMGET a page); it keeps the larger total, like the summary.
      await cacheEngagement(db, postId, counts, total);
      return { postId, ...counts };
    },
  };
}
