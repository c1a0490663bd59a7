import { defineQuery } from '@temporalio/workflow';

/** The search workflows' inputs and results: indexing posts, rebuilding the index, and its scheduled check. */

/** One page of an author's posts re-indexed after a rename. */
export interface AuthorPageInput {
  authorId: string;
  /** Resume after this post id ('' from the start). */
  after: string;
  limit: number;
}

export interface IndexResult {
  /** Documents written (new or newer than the index's). */
  written: number;
  /** Documents the index already held at the same or a newer version. */
  stale: number;
}

export interface AuthorPageResult extends IndexResult {
  /** Null once the author's posts are exhausted. */
  next: string | null;
}

export interface SearchIndexResult extends IndexResult {
  /** Pages of an author's posts re-indexed (renames). */
  pages: number;
}

/** A rebuild of the search index: `requestId` names it, so the same request joins the same run. */
export interface ReindexSearchInput {
  requestId: string;
  /** Posts per bulk request. */
  pageSize?: number;
  /** Set only by the workflow's own continue-as-new. */
  carry?: ReindexProgress;
}

export interface ReindexPageInput {
  index: string;
  after: string;
  limit: number;
}

/** The `progress` query's answer, and the result once done. */
export interface ReindexProgress {
  /** The index being filled. */
  index: string;
  /** Posts in the write model when the rebuild began. */
  total: number;
  /** Posts copied so far; GetOperation reports it as items written. */
  itemsWritten: number;
  pages: number;
  /** Last post id copied. */
  cursor: string;
  /** The indices the swap replaced (and dropped). */
  replaced: string[];
  done: boolean;
}

export const reindexProgressQuery = defineQuery<ReindexProgress>('progress');

export interface SearchCheckInput {
  /** Live documents drawn at random from the index. */
  sample: number;
  /** Posts touched by events this far back are checked too. */
  windowMs: number;
}

/** What the search check finds, one post each: not indexed, indexed at an older version, or live after a delete. */
export const SEARCH_FINDING_KINDS = ['search_missing', 'search_stale', 'search_deleted'] as const;
export type SearchFindingKind = (typeof SEARCH_FINDING_KINDS)[number];

export interface SearchCheckResult {
  postsChecked: number;
  found: Record<SearchFindingKind, number>;
  repaired: number;
  /** The first findings, for the operator. */
  samples: Array<{ kind: SearchFindingKind; postId: string }>;
}
