import metrics from '../models/engagement-v1.metrics.json';

/**
 * The score a feed item carries from its write until the model scores it: the engagement rate the training data
 * shows for the viewer's relationship to the author. It is on the model's scale (a probability), so a fresh item
 * sits among scored ones instead of above them all; `modelVersion: null` marks it provisional.
 */

export type ProvisionalReason = 'own' | 'connection' | 'follow' | 'second';

const byDegree = metrics.data.trainEngagementRateByDegree;

export const PROVISIONAL_SCORES: Readonly<Record<ProvisionalReason, number>> = {
  // An author sees their own post like a first-degree connection's.
  own: byDegree.first,
  connection: byDegree.first,
  follow: byDegree.follow,
  // Read-time candidates from the second degree (never pushed).
  second: byDegree.second,
};

export function provisionalScore(reason: ProvisionalReason): number {
  return PROVISIONAL_SCORES[reason];
}
