import { defineSignal } from '@temporalio/workflow';

/** The ranking workflows' inputs, results and signals (scoring on the `ranking` queue). Plain JSON-safe types. */

/** Scores one viewer's items of these posts (a backfill's delivery) on the ranking queue. */
export interface ScoreViewerItemsInput {
  viewerId: string;
  postIds: string[];
}

export interface ScoreViewerItemsResult {
  items: number;
  written: number;
  modelVersion: string;
}

/**
 * Scores a post's feed items for a range of its audience: viewers after `after` up to and including `until` (null:
 * to the end), in graph order, plus the author's own item when `includeAuthor`. Ids, not documents.
 */
export interface ScoreRangeInput {
  postId: string;
  /** Resume after this viewer id ('' from the start). */
  after: string;
  /** Last viewer id of the range, inclusive; null to the end of the audience. */
  until: string | null;
  includeAuthor: boolean;
  /** Only items whose stored model version differs from the serving one (a rollout); default: every item. */
  staleOnly?: boolean;
  /** Audience pages per activity call; the activity returns its cursor after them. */
  maxPages?: number;
}

export interface ScoreRangeResult {
  /** Where the next call resumes, or null when the range is done. */
  cursor: string | null;
  pages: number;
  /** Items read back from the read model (the audience members that hold the post). */
  items: number;
  /** Items whose score was written (older scores only; a newer one wins). */
  written: number;
  modelVersion: string;
  /** The post is gone: nothing left to score. */
  gone: boolean;
}

export interface ScoreFeedItemsResult {
  postId: string;
  items: number;
  written: number;
  modelVersion: string | null;
}

/** Engagement marks a post dirty; the post's re-scoring workflow coalesces the marks of one debounce interval. */
export const postDirtySignal = defineSignal('postDirty');

export interface RescorePostInput {
  postId: string;
  /** Carried across continue-as-new: a mark arrived after the last pass. */
  dirty?: boolean;
  /** Passes so far, for the operator. */
  passes?: number;
}

export interface RescorePostResult {
  postId: string;
  passes: number;
  written: number;
}

export interface ModelRolloutInput {
  /** The version the ranking workers now serve; the rollout fails over to retries until they do. */
  modelVersion: string;
  /** Resume after this post id ('' from the start). */
  cursor?: string;
  /** Posts per page of the rollout. */
  postsPerPage?: number;
  /** Pause between pages, so a rollout never crowds out fresh scoring. */
  pauseMs?: number;
  /** Carried across continue-as-new. */
  postsDone?: number;
  written?: number;
}

export interface ModelRolloutResult {
  modelVersion: string;
  postsDone: number;
  written: number;
}
