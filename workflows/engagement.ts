import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { createEngagementActivities } from '../activities/engagement';
import { ensureSearchAttributes } from './helpers';
import type { EngagementResult, ProjectionInput } from './shared';

const { recountEngagement } = proxyActivities<ReturnType<typeof createEngagementActivities>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '10 seconds' },
});

/** Engagement recorded: the post's counters in the read model are recounted. */
export async function engagementWorkflow(input: ProjectionInput): Promise<EngagementResult> {
  if (!input?.eventId || !input.postId) {
    throw ApplicationFailure.nonRetryable('eventId and postId are required', 'InvalidInput');
  }
  ensureSearchAttributes('engagement', { postId: input.postId, viewerId: input.actorId });
  return await recountEngagement(input.postId);
}
