import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { createPostActivities } from '../activities/posts';
import type { PostUpdateResult, ProjectionInput } from './contracts/projection';
import { ensureSearchAttributes } from './helpers';

const { applyPostUpdate } = proxyActivities<ReturnType<typeof createPostActivities>>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '10 seconds' },
});

/** Post updated: every feed holding the post shows the new content and version; none goes back to an older one. */
export async function updatePostWorkflow(input: ProjectionInput): Promise<PostUpdateResult> {
  const postId = input?.postId ?? input?.aggregateId;
  if (!postId || !input.eventId || !input.version) {
    throw ApplicationFailure.nonRetryable('eventId, postId and version are required', 'InvalidInput');
  }
  ensureSearchAttributes('update', { postId, authorId: input.actorId });
  return await applyPostUpdate(input);
}
