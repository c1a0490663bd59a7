/**
 * Why a viewer sees an item: one vocabulary for the graph's audience, the stored feed items, the query side's
 * answer and the provisional score.
 */

export type FeedReason = 'own' | 'connection' | 'follow' | 'backfill' | 'second_degree' | 'popular_author';

/** The reasons a pushed feed item is stored with. */
export type PushedReason = Extract<FeedReason, 'own' | 'connection' | 'follow' | 'backfill'>;

/** Why a member is in a post's push audience. */
export type AudienceReason = Extract<FeedReason, 'connection' | 'follow'>;

/** The relationship an item is scored as until the model scores it. */
export type ScoringReason = Extract<FeedReason, 'own' | 'connection' | 'follow' | 'second_degree'>;

const SCORED_AS: Readonly<Record<FeedReason, ScoringReason>> = {
  own: 'own',
  connection: 'connection',
  follow: 'follow',
  // A backfilled item and a popular author's pulled post come from a follow unless told otherwise.
  backfill: 'follow',
  popular_author: 'follow',
  second_degree: 'second_degree',
};

export function scoringReasonOf(reason: FeedReason): ScoringReason {
  return SCORED_AS[reason];
}
