import { patched } from '@temporalio/workflow';
import type { PostDeleteResult, ProjectionInput } from '../pipeline/contracts/projection';
import { ensureSearchAttributes, requirePostVersion } from './helpers';
import { deletePostV1 } from './legacy/simple';
import { CHEAP_SHAPES, localFirst } from './steps';

/**
 * Post deleted (priority queue): first the tombstone, so the post disappears from reads at once, then the purge
 * of its items from every feed.
 */
export async function deletePostWorkflow(input: ProjectionInput): Promise<PostDeleteResult> {
  const postId = requirePostVersion(input);
  ensureSearchAttributes('delete', { postId, authorId: input.actorId });
  if (!patched(CHEAP_SHAPES)) return deletePostV1(input);
  await localFirst((a) => a.markPostDeleted(input));
  return await localFirst((a) => a.purgePost(input), 'long');
}
