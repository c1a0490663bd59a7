import { makeContinueAsNewFunc, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { createPullTransitionActivities } from '../../activities/pull-transition';
import type {
  PullTransitionCarry,
  PullTransitionInput,
  PullTransitionResult,
  PullTransitionSliceResult,
} from '../contracts/projection';
import { startRangeScoring } from '../helpers';
import { pullTransitionId } from '../steps';
import { requestFeedTrim } from './helpers';

const retry = { initialInterval: '200 milliseconds', maximumInterval: '10 seconds' };

const { planPullTransition, finishPullTransition } = proxyActivities<ReturnType<typeof createPullTransitionActivities>>(
  { startToCloseTimeout: '1 minute', retry },
);

// As the fan-out's slices: the heartbeat carries the cursor, so a retry resumes after the last page written.
const { pullTransitionSlice } = proxyActivities<ReturnType<typeof createPullTransitionActivities>>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '10 seconds',
  retry,
});

const PAGES_PER_SLICE = 10;
const SLICES_PER_RUN = 100;

/** The pull transition before patch `cheap-shapes`: scoring children and a cap-sweep child. Replay only. */
export async function pullTransitionV1(
  input: PullTransitionInput,
  carry?: PullTransitionCarry,
): Promise<PullTransitionResult> {
  const plan = carry?.plan ?? (await planPullTransition(input));
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
      await makeContinueAsNewFunc<typeof pullTransitionV1>({
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
  const finished = await finishPullTransition({ authorId: input.authorId, stamp: input.stamp, plan });
  result.recordRemoved = finished.recordRemoved;
  // Only items not yet scored by the serving model: the connections' copies were scored by the posts' fan-outs.
  await Promise.all(
    plan.postIds.map((postId) =>
      startRangeScoring(`score/${pullTransitionId(input)}/${postId}`, {
        postId,
        after: '',
        until: null,
        includeAuthor: false,
        staleOnly: true,
      }),
    ),
  );
  await requestFeedTrim();
  return result;
}
