import { ApplicationFailure, patched } from '@temporalio/workflow';
import type { PullTransitionCarry, PullTransitionInput, PullTransitionResult } from '../pipeline/contracts/projection';
import { ensureSearchAttributes } from './helpers';
import { pullTransitionV1 } from './legacy/pull-transition';
import { pullTransitionSlices, pullTransitionStart, staleItemsOf } from './paging';
import { CHEAP_SHAPES, localFirst, pullTransitionId, rangeScoringAs } from './steps';

/**
 * A pull author fell back under the threshold (`pull-transition/author/{authorId}/{stamp}`, started by the fan-out
 * that saw it): pushes the author's recent public posts to every follower, then removes the pull record and has
 * the new items scored. Followers pull those posts until the record goes, so they never miss one. Idempotent.
 */
export async function pullTransitionWorkflow(
  input: PullTransitionInput,
  carry?: PullTransitionCarry,
): Promise<PullTransitionResult> {
  if (!input?.authorId || !Number.isFinite(input.stamp) || !input.at) {
    throw ApplicationFailure.nonRetryable('authorId, stamp and at are required', 'InvalidInput');
  }
  ensureSearchAttributes('pull-transition', { authorId: input.authorId });
  if (!patched(CHEAP_SHAPES)) return pullTransitionV1(input, carry);
  const plan = carry?.plan ?? (await localFirst((a) => a.planPullTransition(input)));
  const result = pullTransitionStart(input, plan, carry);
  if (plan.superseded) return result;

  await pullTransitionSlices(input, plan, result, carry?.cursor ?? '');
  const finished = await localFirst((a) =>
    a.finishPullTransition({ authorId: input.authorId, stamp: input.stamp, plan }),
  );
  result.recordRemoved = finished.recordRemoved;
  const scorings = plan.postIds.map((postId) =>
    rangeScoringAs(`score/${pullTransitionId(input)}/${postId}`, staleItemsOf(postId)),
  );
  if (scorings.length) await localFirst((a) => a.startDetached(scorings));
  return result;
}
