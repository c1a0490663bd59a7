import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { createPostActivities } from '../activities/posts';
import type { PostDeleteResult, ProjectionInput } from './contracts/projection';
import { ensureSearchAttributes } from './helpers';

const activityOptions = {
  retry: { initialInterval: '200 milliseconds', maximumInterval: '10 seconds' },
} as const;
const { markPostDeleted } = proxyActivities<ReturnType<typeof createPostActivities>>({
  ...activityOptions,
  startToCloseTimeout: '30 seconds',
});
const { purgePost } = proxyActivities<ReturnType<typeof createPostActivities>>({
  ...activityOptions,
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '20 seconds',
});

/**
 * Post deleted (priority queue): first the tombstone, so the post disappears from reads at once, then the purge
 * of its items from every feed.
 */
export async function deletePostWorkflow(input: ProjectionInput): Promise<PostDeleteResult> {
  const postId = input?.postId ?? input?.aggregateId;
  if (!postId || !input.eventId || !input.version) {
    throw ApplicationFailure.nonRetryable('eventId, postId and version are required', 'InvalidInput');
  }
  ensureSearchAttributes('delete', { postId, authorId: input.actorId });
  await markPostDeleted(input);
  return await purgePost(input);
}
