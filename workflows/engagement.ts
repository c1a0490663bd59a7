import { ApplicationFailure, patched, proxyActivities } from '@temporalio/workflow';
import type { createEngagementActivities } from '../activities/engagement';
import type { EngagementResult, ProjectionInput } from './contracts/projection';
import { ensureSearchAttributes, markPostDirty } from './helpers';

const { recountEngagement } = proxyActivities<ReturnType<typeof createEngagementActivities>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '10 seconds' },
});

/** Engagement recorded: the post's counters in the read model are recounted, and its items marked for re-scoring. */
export async function engagementWorkflow(input: ProjectionInput): Promise<EngagementResult> {
  if (!input?.eventId || !input.postId) {
    throw ApplicationFailure.nonRetryable('eventId and postId are required', 'InvalidInput');
  }
  ensureSearchAttributes('engagement', { postId: input.postId, viewerId: input.actorId });
  const result = await recountEngagement(input.postId);
  // Histories recorded before re-scoring existed replay without the mark.
  if (patched('rescore-on-engagement')) await markPostDirty(input.postId);
  return result;
}
