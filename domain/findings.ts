/**
 * What a consistency check can find, one feed item (post × viewer) per finding:
 * - `missing`: a member of the post's push audience lacks the item;
 * - `blocked`: the item is in a feed whose owner and author block each other;
 * - `not_visible`: the post's visibility no longer admits the viewer (unfollowed, connection removed);
 * - `stale`: the item holds another version or content than the write model;
 * - `deleted`: the post is deleted (or unknown) and the item is still there;
 * - `unscored`: the item has no model score past the scoring window.
 */
export const FINDING_KINDS = ['missing', 'blocked', 'not_visible', 'stale', 'deleted', 'unscored'] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

export interface Finding {
  kind: FindingKind;
  postId: string;
  viewerId: string;
}

export type CheckScope = 'recent' | 'deep';

export interface FindingCount {
  kind: FindingKind;
  found: number;
  repaired: number;
  failed: number;
}

/** A check's report, stored in `consistency_reports` and returned by OperationsService. */
export interface ConsistencyReport {
  workflowId: string;
  scope: CheckScope;
  startedAt: string;
  finishedAt: string;
  eventsChecked: number;
  membersChecked: number;
  counts: FindingCount[];
  samples: Finding[];
  found: number;
  repaired: number;
  failed: number;
}
