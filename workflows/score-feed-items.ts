import { ApplicationFailure, continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { createScoringActivities } from '../activities/scoring';
import type { ScoreFeedItemsResult, ScoreRangeInput } from '../pipeline/contracts/ranking';
import { STEP_RETRY } from './retry';

const { scoreRange } = proxyActivities<ReturnType<typeof createScoringActivities>>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '20 seconds',
  retry: STEP_RETRY,
});

/** Range activities per run before continuing as new. */
const CALLS_PER_RUN = 100;

/**
 * Scores the items one fan-out slice wrote (a range of the post's audience), right after it wrote them. Started by
 * the fan-out and abandoned by it, so the fan-out never waits for the model.
 */
export async function scoreFeedItemsWorkflow(
  input: ScoreRangeInput,
  carried: ScoreFeedItemsResult = { postId: input?.postId, items: 0, written: 0, modelVersion: null },
): Promise<ScoreFeedItemsResult> {
  if (!input?.postId || input.after === undefined || input.until === undefined) {
    throw ApplicationFailure.nonRetryable('postId, after and until are required', 'InvalidInput');
  }
  const total = { ...carried };
  let range = input;
  for (let calls = 0; ; calls++) {
    if (calls >= CALLS_PER_RUN) await continueAsNew<typeof scoreFeedItemsWorkflow>(range, total);
    const res = await scoreRange(range);
    total.items += res.items;
    total.written += res.written;
    total.modelVersion = res.modelVersion;
    if (res.cursor === null) return total;
    range = { ...range, after: res.cursor, includeAuthor: false };
  }
}
