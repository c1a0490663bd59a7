import { ApplicationFailure, patched, setHandler, upsertMemo } from '@temporalio/workflow';
import {
  type DetachedStart,
  type FanoutCarry,
  type FanoutResult,
  progressQuery,
  type ProjectionInput,
} from '../pipeline/contracts/projection';
import { ensureSearchAttributes } from './helpers';
import { fanoutPostV1 } from './legacy/fanout-post';
import { countFirstPage, fanoutProgress, fanoutResult, fanoutSlices, showFanout } from './paging';
import { CHEAP_SHAPES, localFirst, pullTransition, rangeScoring } from './steps';

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
  const progress = fanoutProgress(carry);
  setHandler(progressQuery, () => progress);
  // Scoring and pull-transition starts, each handed over by a local activity beside the next step.
  const handOffs: Promise<number>[] = [];
  const handOff = (starts: DetachedStart[]) => handOffs.push(localFirst((a) => a.startDetached(starts)));

  let plan = carry?.plan;
  if (!plan) {
    ensureSearchAttributes('fanout', { postId: input.postId ?? input.aggregateId, authorId: input.actorId });
    const first = await localFirst((a) => a.startFanout(input));
    plan = first.plan;
    countFirstPage(progress, first);
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
  const show = showFanout(plan, progress);
  show();
  const finalPlan = plan;
  await fanoutSlices(input, plan, progress, {
    onRange: (firstPage, after, until) =>
      handOff([
        rangeScoring(finalPlan.version, firstPage, { postId: finalPlan.postId, after, until, includeAuthor: false }),
      ]),
    beforeContinue: () => Promise.all(handOffs),
  });
  // The reconcile reads two documents by id when nothing changed meanwhile: local, beside the last hand-off.
  const finish = localFirst((a) => a.finishFanout(plan), 'long');
  await Promise.all([finish, ...handOffs]);
  progress.done = true;
  show();
  return fanoutResult(plan, progress);
}
