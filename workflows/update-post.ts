import { ApplicationFailure, patched } from '@temporalio/workflow';
import type { PostUpdateResult, ProjectionInput } from '../pipeline/contracts/projection';
import { ensureSearchAttributes } from './helpers';
import { updatePostV1 } from './legacy/simple';
import { CHEAP_SHAPES, localFirst } from './steps';

/** Post updated: every feed holding the post shows the new content and version; none goes back to an older one. */
export async function updatePostWorkflow(input: ProjectionInput): Promise<PostUpdateResult> {
  const postId = input?.postId ?? input?.aggregateId;
  if (!postId || !input.eventId || !input.version) {
    throw ApplicationFailure.nonRetryable('eventId, postId and version are required', 'InvalidInput');
  }
  ensureSearchAttributes('update', { postId, authorId: input.actorId });
  if (!patched(CHEAP_SHAPES)) return updatePostV1(input);
  return await localFirst((a) => a.applyPostUpdate(input), 'long');
}
