import {
  makeContinueAsNewFunc,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { createFanoutActivities } from '../../activities/fanout';
import {
  type FanoutCarry,
  type FanoutProgress,
  type FanoutResult,
  type FanoutSliceResult,
  progressQuery,
  type ProjectionInput,
} from '../contracts/projection';
import { ensureSearchAttributes } from '../helpers';
import { requestFeedTrim, startPullTransition, startScoring } from './helpers';

const retry = { initialInterval: '200 milliseconds', maximumInterval: '10 seconds' };

// The first step runs as a local activity, in the same workflow task as the start: no server round trip
// between the command's acceptance and the first page of feeds.
const { startFanout } = proxyLocalActivities<ReturnType<typeof createFanoutActivities>>({
  startToCloseTimeout: '30 seconds',
  retry,
});

const { finishFanout } = proxyActivities<ReturnType<typeof createFanoutActivities>>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '20 seconds',
  retry,
});

// Pages are written inside the slice; the heartbeat carries the cursor, so a killed worker costs at most the
// pages since the last heartbeat, and the retry starts when the heartbeat times out.
const { fanoutSlice } = proxyActivities<ReturnType<typeof createFanoutActivities>>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '10 seconds',
  retry,
});

/** Pages per slice activity: one activity (three history events) per 10,000 viewers at the default page size. */
const PAGES_PER_SLICE = 10;
/** Slices per run before continuing as new: a run's history stays in the hundreds of events at any audience. */
const SLICES_PER_RUN = 100;

/** The fan-out before patch `cheap-shapes`: child starts for scoring, a cap-sweep child per run. Replay only. */
export async function fanoutPostV1(input: ProjectionInput, carry?: FanoutCarry): Promise<FanoutResult> {
  const progress: FanoutProgress = carry?.progress ?? {
    pagesDone: 0,
    itemsWritten: 0,
    cursor: null,
    audienceSize: 0,
    done: false,
  };
  setHandler(progressQuery, () => progress);

  // Each written range is scored on the ranking queue; histories recorded before scoring existed replay without it.
  const scoring = patched('score-after-fanout');
  const scorings: Promise<void>[] = [];

  let plan = carry?.plan;
  if (!plan) {
    ensureSearchAttributes('fanout', { postId: input.postId ?? input.aggregateId, authorId: input.actorId });
    const first = await startFanout(input);
    plan = first.plan;
    Object.assign(progress, {
      audienceSize: plan.audienceSize,
      pagesDone: first.pages,
      itemsWritten: first.written,
      cursor: first.cursor,
    });
    if (scoring && !plan.skipped) {
      scorings.push(
        startScoring(plan.version, 0, { postId: plan.postId, after: '', until: first.cursor, includeAuthor: true }),
      );
    }
    upsertMemo({ audienceSize: plan.audienceSize, scope: plan.scope, pullAuthor: plan.pullAuthor });
    // The author fell back under the threshold: their earlier posts get pushed while followers still pull them.
    if (plan.demotion && patched('pull-transition')) await startPullTransition(plan.demotion);
  }
  const show = () =>
    setCurrentDetails(
      `**Fan-out of post ${plan.postId} v${plan.version}** (${plan.scope}${plan.pullAuthor ? ', pull author' : ''})\n\n` +
        `${progress.itemsWritten} of ${plan.audienceSize + 1} items written in ${progress.pagesDone} pages; ` +
        `cursor \`${progress.cursor ?? '-'}\`${progress.done ? '; done' : ''}`,
    );
  show();

  const scope = plan.scope;
  let cursor = progress.cursor;
  for (let slices = 0; cursor !== null && scope !== 'none'; slices++) {
    if (slices >= SLICES_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await Promise.all(scorings);
      // Memo and search attributes are passed on explicitly so the next run stays findable and keeps its memo.
      const info = workflowInfo();
      await makeContinueAsNewFunc<typeof fanoutPostV1>({
        memo: info.memo,
        typedSearchAttributes: info.typedSearchAttributes,
      })(input, { plan, progress });
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
    if (scoring && !slice.deleted && slice.pages > 0) {
      const range = { postId: plan.postId, after: from, until: slice.cursor, includeAuthor: false };
      scorings.push(startScoring(plan.version, firstPage, range));
    }
    show();
  }
  await Promise.all(scorings);
  await finishFanout(plan);
  await requestFeedTrim();
  progress.done = true;
  show();
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
