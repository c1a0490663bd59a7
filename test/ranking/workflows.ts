import { proxyActivities } from '@temporalio/workflow';
import type { createRankingActivities, ScoreFeaturesInput, ScoreFeaturesResult } from '../../activities/ranking';

// Test-only workflow: runs the scoring activity on a real worker, so failures surface as Temporal shows them.
const { scoreFeatures } = proxyActivities<ReturnType<typeof createRankingActivities>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '50 milliseconds', maximumAttempts: 3 },
});

export async function scoreFeaturesWorkflow(input: ScoreFeaturesInput): Promise<ScoreFeaturesResult> {
  return scoreFeatures(input);
}
