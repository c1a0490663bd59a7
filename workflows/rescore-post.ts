import {
  ApplicationFailure,
  continueAsNew,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { createScoringActivities } from '../activities/scoring';
import { postDirtySignal, type RescorePostInput, type RescorePostResult } from '../pipeline/contracts/ranking';
import { scoreWholePost } from './helpers';
import { STEP_RETRY } from './retry';

const { scoreRange } = proxyActivities<ReturnType<typeof createScoringActivities>>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '20 seconds',
  retry: STEP_RETRY,
});

const { rescoreDebounceMs } = proxyLocalActivities<ReturnType<typeof createScoringActivities>>({
  startToCloseTimeout: '5 seconds',
});

/** Passes per run before continuing as new; each pass is a debounce timer plus its range activities. */
const PASSES_PER_RUN = 50;

/**
 * One per post (`rescore/post/{postId}`), signalled with start by the engagement projection. Waits one debounce
 * interval, so the marks of a burst coalesce, then re-scores the post's items across its whole audience; repeats
 * while marks keep arriving, at most once per interval, and ends when the post is quiet.
 */
export async function rescorePostWorkflow(input: RescorePostInput): Promise<RescorePostResult> {
  if (!input?.postId) throw ApplicationFailure.nonRetryable('postId is required', 'InvalidInput');
  // The starter marks the first run dirty; a continued run carries the mark over.
  let dirty = input.dirty ?? false;
  setHandler(postDirtySignal, () => {
    dirty = true;
  });
  const debounceMs = await rescoreDebounceMs();
  let passes = input.passes ?? 0;
  let written = 0;
  for (let run = 0; ; run++) {
    if (!dirty) return { postId: input.postId, passes, written };
    if (run >= PASSES_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof rescorePostWorkflow>({ postId: input.postId, dirty, passes });
    }
    await sleep(debounceMs);
    dirty = false;
    written += await scoreWholePost(scoreRange, { postId: input.postId, after: '', until: null, includeAuthor: true });
    passes++;
  }
}
