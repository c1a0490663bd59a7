import { ApplicationFailure, patched } from '@temporalio/workflow';
import type { EngagementResult, ProjectionInput } from '../pipeline/contracts/projection';
import { ensureSearchAttributes } from './helpers';
import { engagementV1 } from './legacy/simple';
import { CHEAP_SHAPES, localFirst, rescoreMark } from './steps';

/**
 * Engagement recorded: the post's counters in the read model are recounted, and its items marked for re-scoring,
 * both at once.
 */
export async function engagementWorkflow(input: ProjectionInput): Promise<EngagementResult> {
  const postId = input?.postId;
  if (!input?.eventId || !postId) {
    throw ApplicationFailure.nonRetryable('eventId and postId are required', 'InvalidInput');
  }
  ensureSearchAttributes('engagement', { postId, viewerId: input.actorId });
  if (!patched(CHEAP_SHAPES)) return engagementV1(postId);
  const [result] = await Promise.all([
    localFirst((a) => a.recountEngagement(postId)),
    localFirst((a) => a.startDetached([rescoreMark(postId)])),
  ]);
  return result;
}
