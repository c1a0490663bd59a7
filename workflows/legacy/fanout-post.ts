import { patched, proxyActivities, proxyLocalActivities, setHandler, upsertMemo } from '@temporalio/workflow';
import type { createFanoutActivities } from '../../activities/fanout';
import {
  type FanoutCarry,
  type FanoutResult,
  progressQuery,
  type ProjectionInput,
} from '../../pipeline/contracts/projection';
import { ensureSearchAttributes } from '../helpers';
import { countFirstPage, fanoutProgress, fanoutResult, fanoutSlices, showFanout } from '../paging';
import { STEP_RETRY } from '../retry';
import { requestFeedTrim, startPullTransition, startScoring } from './helpers';

const retry = STEP_RETRY;

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

/** The fan-out before patch `cheap-shapes`: child starts for scoring, a cap-sweep child per run. Replay only. */
export async function fanoutPostV1(input: ProjectionInput, carry?: FanoutCarry): Promise<FanoutResult> {
  const progress = fanoutProgress(carry);
  setHandler(progressQuery, () => progress);

  // Each written range is scored on the ranking queue; histories recorded before scoring existed replay without it.
  const scoring = patched('score-after-fanout');
  const scorings: Promise<void>[] = [];

  let plan = carry?.plan;
  if (!plan) {
    ensureSearchAttributes('fanout', { postId: input.postId ?? input.aggregateId, authorId: input.actorId });
    const first = await startFanout(input);
    plan = first.plan;
    countFirstPage(progress, first);
    if (scoring && !plan.skipped) {
      scorings.push(
        startScoring(plan.version, 0, { postId: plan.postId, after: '', until: first.cursor, includeAuthor: true }),
      );
    }
    upsertMemo({ audienceSize: plan.audienceSize, scope: plan.scope, pullAuthor: plan.pullAuthor });
    // The author fell back under the threshold: their earlier posts get pushed while followers still pull them.
    if (plan.demotion && patched('pull-transition')) await startPullTransition(plan.demotion);
  }
  const show = showFanout(plan, progress);
  show();
  const finalPlan = plan;
  await fanoutSlices(input, plan, progress, {
    onRange: (firstPage, after, until) => {
      if (!scoring) return;
      const range = { postId: finalPlan.postId, after, until, includeAuthor: false };
      scorings.push(startScoring(finalPlan.version, firstPage, range));
    },
    beforeContinue: () => Promise.all(scorings),
  });
  await Promise.all(scorings);
  await finishFanout(plan);
  await requestFeedTrim();
  progress.done = true;
  show();
  return fanoutResult(plan, progress);
}
