import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { createScoringActivities } from '../activities/scoring';
import type { ScoreViewerItemsInput, ScoreViewerItemsResult } from '../pipeline/contracts/ranking';
import { STEP_RETRY } from './retry';

const { scoreViewerItems } = proxyActivities<ReturnType<typeof createScoringActivities>>({
  startToCloseTimeout: '2 minutes',
  retry: STEP_RETRY,
});

/**
 * Scores what one backfill delivered to one viewer (at most 200 posts), on the ranking queue. Started by the
 * backfill and abandoned by it, as the fan-out abandons its range scorings.
 */
export async function scoreViewerItemsWorkflow(input: ScoreViewerItemsInput): Promise<ScoreViewerItemsResult> {
  if (!input?.viewerId || !Array.isArray(input.postIds)) {
    throw ApplicationFailure.nonRetryable('viewerId and postIds are required', 'InvalidInput');
  }
  return scoreViewerItems(input);
}
