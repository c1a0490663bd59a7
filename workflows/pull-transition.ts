import {
  ApplicationFailure,
  makeContinueAsNewFunc,
  patched,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { createPullTransitionActivities } from '../activities/pull-transition';
import type {
  PullTransitionCarry,
  PullTransitionInput,
  PullTransitionResult,
  PullTransitionSliceResult,
} from './contracts/projection';
import { ensureSearchAttributes } from './helpers';
import { pullTransitionV1 } from './legacy/pull-transition';
import { CHEAP_SHAPES, localUntilDone, pullTransitionId, rangeScoringAs, RETRY } from './steps';

// As the fan-out's slices: the heartbeat carries the cursor, so a retry resumes after the last page written.
const { pullTransitionSlice } = proxyActivities<ReturnType<typeof createPullTransitionActivities>>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '10 seconds',
  retry: RETRY,
});

const PAGES_PER_SLICE = 10;
const SLICES_PER_RUN = 100;

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
  const plan = carry?.plan ?? (await localUntilDone.planPullTransition(input));
  const result: PullTransitionResult = {
    authorId: input.authorId,
    superseded: plan.superseded,
    posts: plan.postIds.length,
    pages: carry?.pages ?? 0,
    written: carry?.written ?? 0,
    recordRemoved: false,
  };
  if (plan.superseded) return result;

  let cursor: string | null = carry?.cursor ?? '';
  for (let slices = 0; cursor !== null && plan.postIds.length; slices++) {
    if (slices >= SLICES_PER_RUN || workflowInfo().continueAsNewSuggested) {
      const info = workflowInfo();
      await makeContinueAsNewFunc<typeof pullTransitionWorkflow>({
        memo: info.memo,
        typedSearchAttributes: info.typedSearchAttributes,
      })(input, { plan, cursor, pages: result.pages, written: result.written });
    }
    const slice: PullTransitionSliceResult = await pullTransitionSlice({
      authorId: input.authorId,
      postIds: plan.postIds,
      cursor,
      maxPages: PAGES_PER_SLICE,
      acceptedAt: input.at,
    });
    result.pages += slice.pages;
    result.written += slice.written;
    cursor = slice.cursor;
  }
  const finished = await localUntilDone.finishPullTransition({ authorId: input.authorId, stamp: input.stamp, plan });
  result.recordRemoved = finished.recordRemoved;
  // Only items not yet scored by the serving model: the connections' copies were scored by the posts' fan-outs.
  const scorings = plan.postIds.map((postId) =>
    rangeScoringAs(`score/${pullTransitionId(input)}/${postId}`, {
      postId,
      after: '',
      until: null,
      includeAuthor: false,
      staleOnly: true,
    }),
  );
  if (scorings.length) await localUntilDone.startDetached(scorings);
  return result;
}
