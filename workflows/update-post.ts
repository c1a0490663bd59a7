import { patched } from '@temporalio/workflow';
import type { PostUpdateResult, ProjectionInput } from '../pipeline/contracts/projection';
import { ensureSearchAttributes, requirePostVersion } from './helpers';
import { updatePostV1 } from './legacy/simple';
import { CHEAP_SHAPES, localFirst } from './steps';

/** Post updated: every feed holding the post shows the new content and version; none goes back to an older one. */
export async function updatePostWorkflow(input: ProjectionInput): Promise<PostUpdateResult> {
  const postId = requirePostVersion(input);
  ensureSearchAttributes('update', { postId, authorId: input.actorId });
  if (!patched(CHEAP_SHAPES)) return updatePostV1(input);
  return await localFirst((a) => a.applyPostUpdate(input), 'long');
}
