import {
  ApplicationFailure,
  makeContinueAsNewFunc,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { createFanoutActivities } from '../activities/fanout';
import {
  type DetachedStart,
  type FanoutCarry,
  type FanoutPlan,
  type FanoutProgress,
  type FanoutResult,
  progressQuery,
  type ProjectionInput,
} from './contracts/projection';
import { ensureSearchAttributes } from './helpers';
import { fanoutPostV1 } from './legacy/fanout-post';
import { CHEAP_SHAPES, localFirst, localUntilDone, pullTransition, rangeScoring, RETRY } from './steps';

// Pages are written inside the slice; the heartbeat carries the cursor, so a killed worker costs at most the
// pages since the last heartbeat, and the retry starts when the heartbeat times out.
const { fanoutSlice } = proxyActivities<ReturnType<typeof createFanoutActivities>>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '10 seconds',
  retry: RETRY,
});

/** Pages per slice activity: one activity (three history events) per 10,000 viewers at the default page size. */
const PAGES_PER_SLICE = 10;
/** Slices per run before continuing as new: a run's history stays in the hundreds of events at any audience. */
const SLICES_PER_RUN = 100;

/**
 * Post created: delivers the post to its author at once, then to every member of its audience, page by page.
 * An audience of one page (FANOUT_PAGE_SIZE) is delivered, reconciled and handed to scoring in the workflow task
 * that started the run, by local activities: one task, no activity round trip. Larger audiences go on in
 * heartbeating slices. Idempotent end to end, so a re-run, a reset or a restart after a failure yields the same feeds.
 */
export async function fanoutPostWorkflow(input: ProjectionInput, carry?: FanoutCarry): Promise<FanoutResult> {
  if (!input?.eventId || !(input.postId ?? input.aggregateId) || !input.acceptedAt) {
    throw ApplicationFailure.nonRetryable('eventId, postId and acceptedAt are required', 'InvalidInput');
  }
  if (!patched(CHEAP_SHAPES)) return fanoutPostV1(input, carry);
  const progress: FanoutProgress = carry?.progress ?? {
    pagesDone: 0,
    itemsWritten: 0,
    cursor: null,
    audienceSize: 0,
    done: false,
  };
  setHandler(progressQuery, () => progress);
  // Scoring and pull-transition starts, each handed over by a local activity beside the next step.
  const handOffs: Promise<number>[] = [];
  const handOff = (starts: DetachedStart[]) => handOffs.push(localUntilDone.startDetached(starts));

  let plan = carry?.plan;
  if (!plan) {
    ensureSearchAttributes('fanout', { postId: input.postId ?? input.aggregateId, authorId: input.actorId });
    const first = await localUntilDone.startFanout(input);
    plan = first.plan;
    Object.assign(progress, {
      audienceSize: plan.audienceSize,
      pagesDone: first.pages,
      itemsWritten: first.written,
      cursor: first.cursor,
    });
    const starts: DetachedStart[] = [];
    if (!plan.skipped) {
      starts.push(
        rangeScoring(plan.version, 0, { postId: plan.postId, after: '', until: first.cursor, includeAuthor: true }),
      );
    }
    // The author fell back under the threshold: their earlier posts get pushed while followers still pull them.
    if (plan.demotion) starts.push(pullTransition(plan.demotion, 'projection'));
    if (starts.length) handOff(starts);
    upsertMemo({ audienceSize: plan.audienceSize, scope: plan.scope, pullAuthor: plan.pullAuthor });
  }
  const show = showProgress(plan, progress);
  show();

  const scope = plan.scope;
  let cursor = progress.cursor;
  for (let slices = 0; cursor !== null && scope !== 'none'; slices++) {
    if (slices >= SLICES_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await Promise.all(handOffs);
      // Memo and search attributes are passed on explicitly so the next run stays findable and keeps its memo.
      const info = workflowInfo();
      await makeContinueAsNewFunc<typeof fanoutPostWorkflow>({
        memo: info.memo,
        typedSearchAttributes: info.typedSearchAttributes,
      })(input, { plan, progress });
    }
    const [firstPage, from] = [progress.pagesDone, cursor];
    const slice = await fanoutSlice({
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
    if (!slice.deleted && slice.pages > 0) {
      handOff([
        rangeScoring(plan.version, firstPage, {
          postId: plan.postId,
          after: from,
          until: slice.cursor,
          includeAuthor: false,
        }),
      ]);
    }
    show();
  }
  // The reconcile reads two documents by id when nothing changed meanwhile: local, beside the last hand-off.
  const finish = localFirst((a) => a.finishFanout(plan));
  await Promise.all([finish, ...handOffs]);
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

/** The run's details line in the Temporal UI: what is written so far and where paging stands. */
function showProgress(plan: FanoutPlan, progress: FanoutProgress): () => void {
  return () =>
    setCurrentDetails(
      `**Fan-out of post ${plan.postId} v${plan.version}** (${plan.scope}${plan.pullAuthor ? ', pull author' : ''})\n\n` +
        `${progress.itemsWritten} of ${plan.audienceSize + 1} items written in ${progress.pagesDone} pages; ` +
        `cursor \`${progress.cursor ?? '-'}\`${progress.done ? '; done' : ''}`,
    );
}
