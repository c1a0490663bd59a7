import type { ScoringReason } from '../domain/reasons';
import metrics from '../models/engagement-v1.metrics.json';

/**
 * The score a feed item carries from its write until the model scores it: the engagement rate the training data
 * shows for the viewer's relationship to the author. It is on the model's scale (a probability), so a fresh item
 * sits among scored ones instead of above them all; `modelVersion: null` marks it provisional.
 */

const byDegree = metrics.data.trainEngagementRateByDegree;

export const PROVISIONAL_SCORES: Readonly<Record<ScoringReason, number>> = {
  // An author sees their own post like a first-degree connection's.
  own: byDegree.first,
  connection: byDegree.first,
  follow: byDegree.follow,
  // Read-time candidates from the second degree (never pushed).
  second_degree: byDegree.second,
};

export function provisionalScore(reason: ScoringReason): number {
  return PROVISIONAL_SCORES[reason];
}
