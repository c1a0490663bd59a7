import { proxyActivities } from '@temporalio/workflow';
import type { createPullTransitionActivities } from '../../activities/pull-transition';
import type {
  PullTransitionCarry,
  PullTransitionInput,
  PullTransitionResult,
} from '../../pipeline/contracts/projection';
import { startRangeScoring } from '../helpers';
import { pullTransitionSlices, pullTransitionStart, staleItemsOf } from '../paging';
import { STEP_RETRY } from '../retry';
import { pullTransitionId } from '../steps';
import { requestFeedTrim } from './helpers';

const retry = STEP_RETRY;

const { planPullTransition, finishPullTransition } = proxyActivities<ReturnType<typeof createPullTransitionActivities>>(
  { startToCloseTimeout: '1 minute', retry },
);

/** The pull transition before patch `cheap-shapes`: scoring children and a cap-sweep child. Replay only. */
export async function pullTransitionV1(
  input: PullTransitionInput,
  carry?: PullTransitionCarry,
): Promise<PullTransitionResult> {
  const plan = carry?.plan ?? (await planPullTransition(input));
  const result = pullTransitionStart(input, plan, carry);
  if (plan.superseded) return result;

  await pullTransitionSlices(input, plan, result, carry?.cursor ?? '');
  const finished = await finishPullTransition({ authorId: input.authorId, stamp: input.stamp, plan });
  result.recordRemoved = finished.recordRemoved;
  await Promise.all(
    plan.postIds.map((postId) => startRangeScoring(`score/${pullTransitionId(input)}/${postId}`, staleItemsOf(postId))),
  );
  await requestFeedTrim();
  return result;
}
