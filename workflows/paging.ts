import { makeContinueAsNewFunc, proxyActivities, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import type { createFanoutActivities, FanoutStart } from '../activities/fanout';
import type { createPullTransitionActivities } from '../activities/pull-transition';
import type {
  FanoutCarry,
  FanoutPlan,
  FanoutProgress,
  FanoutResult,
  FanoutSliceResult,
  ProjectionInput,
  PullTransitionCarry,
  PullTransitionInput,
  PullTransitionPlan,
  PullTransitionResult,
  PullTransitionSliceResult,
} from '../pipeline/contracts/projection';
import type { ScoreRangeInput } from '../pipeline/contracts/ranking';
import { STEP_RETRY } from './retry';

/**
 * The paging of the large projections (a fan-out past its first page, a pull transition): heartbeating slices of
 * pages, continue-as-new to keep each run's history bounded. Shared by the current shapes and the legacy ones
 * (./legacy), which differ only before and after it.
 */

const retry = STEP_RETRY;

// Pages are written inside the slice; the heartbeat carries the cursor, so a killed worker costs at most the
// pages since the last heartbeat, and the retry starts when the heartbeat times out.
const { fanoutSlice } = proxyActivities<ReturnType<typeof createFanoutActivities>>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '10 seconds',
  retry,
});
const { pullTransitionSlice } = proxyActivities<ReturnType<typeof createPullTransitionActivities>>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '10 seconds',
  retry,
});

/** Pages per slice activity: one activity (three history events) per 10,000 viewers at the default page size. */
const PAGES_PER_SLICE = 10;
/** Slices per run before continuing as new: a run's history stays in the hundreds of events at any audience. */
const SLICES_PER_RUN = 100;

/** Continues as new with the run's memo and search attributes, so the next run stays findable. */
async function continueRun(args: unknown[]): Promise<never> {
  const info = workflowInfo();
  return makeContinueAsNewFunc({ memo: info.memo, typedSearchAttributes: info.typedSearchAttributes })(...args);
}

/** The fan-out's progress: carried from the previous run, or fresh with nothing written. */
export function fanoutProgress(carry?: FanoutCarry): FanoutProgress {
  return carry?.progress ?? { pagesDone: 0, itemsWritten: 0, cursor: null, audienceSize: 0, done: false };
}

/** Counts the first page, written as the fan-out started, into its progress. */
export function countFirstPage(progress: FanoutProgress, first: FanoutStart): void {
  Object.assign(progress, {
    audienceSize: first.plan.audienceSize,
    pagesDone: first.pages,
    itemsWritten: first.written,
    cursor: first.cursor,
  });
}

/** What a fan-out reports when it ends. */
export function fanoutResult(plan: FanoutPlan, progress: FanoutProgress): FanoutResult {
  return {
    postId: plan.postId,
    version: plan.version,
    audienceSize: plan.audienceSize,
    pagesDone: progress.pagesDone,
    itemsWritten: progress.itemsWritten,
    pullAuthor: plan.pullAuthor,
    ...(plan.skipped ? { skipped: plan.skipped } : {}),
  };
}

/** A pull transition's result at the start of a run: the counts carried from the runs before. */
export function pullTransitionStart(
  input: PullTransitionInput,
  plan: PullTransitionPlan,
  carry?: PullTransitionCarry,
): PullTransitionResult {
  return {
    authorId: input.authorId,
    superseded: plan.superseded,
    posts: plan.postIds.length,
    pages: carry?.pages ?? 0,
    written: carry?.written ?? 0,
    recordRemoved: false,
  };
}

/**
 * The scoring a pull transition asks for, per post: only the items not yet scored by the serving model (the
 * connections' copies were scored by the post's fan-out).
 */
export function staleItemsOf(postId: string): ScoreRangeInput {
  return { postId, after: '', until: null, includeAuthor: false, staleOnly: true };
}

/** The fan-out's details line in the Temporal UI: what is written so far and where paging stands. */
export function showFanout(plan: FanoutPlan, progress: FanoutProgress): () => void {
  return () =>
    setCurrentDetails(
      `**Fan-out of post ${plan.postId} v${plan.version}** (${plan.scope}${plan.pullAuthor ? ', pull author' : ''})\n\n` +
        `${progress.itemsWritten} of ${plan.audienceSize + 1} items written in ${progress.pagesDone} pages; ` +
        `cursor \`${progress.cursor ?? '-'}\`${progress.done ? '; done' : ''}`,
    );
}

/**
 * Writes the rest of the fan-out's audience slice by slice from `progress.cursor`, updating `progress`. Each written
 * range is reported to `onRange` (for scoring); `beforeContinue` settles what must not be lost to a continue-as-new.
 */
export async function fanoutSlices(
  input: ProjectionInput,
  plan: FanoutPlan,
  progress: FanoutProgress,
  hooks: { onRange(firstPage: number, from: string, until: string | null): void; beforeContinue(): Promise<unknown> },
): Promise<void> {
  const show = showFanout(plan, progress);
  const scope = plan.scope;
  let cursor = progress.cursor;
  for (let slices = 0; cursor !== null && scope !== 'none'; slices++) {
    if (slices >= SLICES_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await hooks.beforeContinue();
      await continueRun([input, { plan, progress }]);
    }
    const [firstPage, from] = [progress.pagesDone, cursor];
    const slice: FanoutSliceResult = await fanoutSlice({
      postId: plan.postId,
      authorId: plan.authorId,
      scope,
      cursor,
      maxPages: PAGES_PER_SLICE,
      acceptedAt: input.acceptedAt,
    });
    progress.pagesDone += slice.pages;
    progress.itemsWritten += slice.written;
    progress.cursor = slice.cursor;
    cursor = slice.deleted ? null : slice.cursor;
    if (!slice.deleted && slice.pages > 0) hooks.onRange(firstPage, from, slice.cursor);
    show();
  }
}

/** Pushes the transition's posts to every follower slice by slice, from `cursor`, counting into `result`. */
export async function pullTransitionSlices(
  input: PullTransitionInput,
  plan: PullTransitionPlan,
  result: PullTransitionResult,
  from: string,
): Promise<void> {
  let cursor: string | null = from;
  for (let slices = 0; cursor !== null && plan.postIds.length; slices++) {
    if (slices >= SLICES_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await continueRun([input, { plan, cursor, pages: result.pages, written: result.written }]);
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
}
