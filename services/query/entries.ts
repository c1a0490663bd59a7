import type { FeedReason } from '../../domain/reasons';

/** The query side's two shapes of a feed entry: a window's ranked candidate, and its hydrated data. */

/** One ranked candidate of a session window. Ids and ordering only; content is hydrated per page. */
export interface WindowEntry {
  postId: string;
  authorId: string;
  createdAt: number;
  rank: number;
  score: number;
  modelVersion: string;
  reason: FeedReason;
  /** Where the item's data lives: the viewer's pushed feed item, or the post store (pull authors, past the cap). */
  source: 'feed' | 'post';
}

/** One entry's data, hydrated for a page. */
export interface FeedEntryData {
  postId: string;
  version: number;
  authorId: string;
  authorName: string;
  authorHeadline: string;
  authorImageUrl: string;
  /** The author's profile version: current from the post store, the snapshot's from a pushed item (0: unknown). */
  authorVersion: number;
  content: string;
  type: string;
  mediaUrls: string[];
  visibility: string;
  createdAt: number;
  score: number;
  modelVersion: string;
  reason: FeedReason;
  engagement: { likes: number; comments: number; shares: number; views: number };
  /** The viewer's pushed read model, or the post store. */
  source: 'feed' | 'post';
}
