import type { FeedReason } from '../../domain/reasons';
import type { EngagementCounts } from '../../stores/read-model';

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
  /** Counts come per page, never from the stored item. */
  engagement: EngagementCounts;
  /** The viewer's pushed read model, or the post store. */
  source: 'feed' | 'post';
}

/** An entry as a session holds it: its data and its rank in the window. */
export interface RankedEntry extends FeedEntryData {
  rank: number;
}

/**
 * What a viewer's feed needs to know about them beyond their feed items, derived from the write model and the
 * graph and cached beside their sessions: whom they block or are blocked by, their accepted connections, the
 * pull authors they follow and their discovery picks. Valid while the viewer's relationship generation and the
 * pull-author generation it was derived at are current.
 */
export interface ViewerState {
  viewerId: string;
  relGen: string;
  pullGen: string;
  blocked: string[];
  connected: string[];
  pullFollows: string[];
  /** Recent public posts of the strongest second-degree members, newest first. */
  discovery: FeedEntryData[];
}
