import {
  ApplicationFailure,
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { createScoringActivities } from '../activities/scoring';
import type { ModelRolloutInput, ModelRolloutResult } from '../pipeline/contracts/ranking';
import { scoreWholePost } from './helpers';

const { scoreRange, postsPage, requireModelVersion } = proxyActivities<ReturnType<typeof createScoringActivities>>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '20 seconds',
  // A rollout started before the deploy waits here, retrying, until the ranking workers serve the new model.
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

/** Post pages per run before continuing as new. */
const PAGES_PER_RUN = 20;

/**
 * A new model version: re-scores every live post's items that another version scored (or none did), post by post
 * with a pause between pages, in the background. Items keep their old score until their turn, and the query side
 * ranks by whatever score is stored, so both versions serve side by side during the rollout.
 */
export async function modelRolloutWorkflow(input: ModelRolloutInput): Promise<ModelRolloutResult> {
  if (!input?.modelVersion) throw ApplicationFailure.nonRetryable('modelVersion is required', 'InvalidInput');
  const postsPerPage = input.postsPerPage ?? 50;
  const pauseMs = input.pauseMs ?? 1_000;
  let postsDone = input.postsDone ?? 0;
  let written = input.written ?? 0;
  let cursor = input.cursor ?? '';
  await requireModelVersion(input.modelVersion);
  for (let pages = 0; ; pages++) {
    if (pages >= PAGES_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof modelRolloutWorkflow>({ ...input, cursor, postsDone, written });
    }
    const page = await postsPage({ after: cursor, limit: postsPerPage });
    for (const postId of page.postIds) {
      written += await scoreWholePost(scoreRange, {
        postId,
        after: '',
        until: null,
        includeAuthor: true,
        staleOnly: true,
      });
      postsDone++;
    }
    setCurrentDetails(`**Rollout of model ${input.modelVersion}**: ${postsDone} posts, ${written} items re-scored`);
    if (page.next === null) return { modelVersion: input.modelVersion, postsDone, written };
    cursor = page.next;
    await sleep(pauseMs);
  }
}
