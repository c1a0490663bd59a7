import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  getExternalWorkflowHandle,
  ParentClosePolicy,
  proxyLocalActivities,
  startChild,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import type { createMaintenanceActivities } from '../../activities/maintenance';
import {
  FEED_TRIM_INTERVAL_MS,
  type PullTransitionInput,
  type PullTransitionWorkflow,
} from '../../pipeline/contracts/projection';
import { postDirtySignal, type ScoreRangeInput } from '../../pipeline/contracts/ranking';
import { siblingQueue } from '../../pipeline/queues';
import { WORKFLOW_TYPES } from '../../pipeline/registry';
import { startOnce, startRangeScoring } from '../helpers';
import type { rescorePostWorkflow } from '../rescore-post';
import { pullTransitionId } from '../steps';
import type { trimFeedsWorkflow } from '../trim-feeds';

/**
 * The child starts the projections made before patch `cheap-shapes` (now local activities that start through the
 * worker's client, and a trim Schedule). Kept only for the legacy shapes that replay runs started before it.
 */

const { trimSweepScope } = proxyLocalActivities<ReturnType<typeof createMaintenanceActivities>>({
  startToCloseTimeout: '5 seconds',
});

/**
 * Starts the pull transition a fan-out found due, on the fan-out's own queue, and leaves it running: the pull record
 * stays until it finishes, so nobody waits for it. Concurrent fan-outs that see the same demotion start it once.
 */
export async function startPullTransition(input: PullTransitionInput): Promise<void> {
  const id = pullTransitionId(input);
  await startOnce<PullTransitionWorkflow>(WORKFLOW_TYPES.pullTransition, id, [input], undefined, {
    retryFailed: true,
  });
}

/**
 * Starts the cap sweep of the previous interval unless some fan-out or backfill already did: the workflow id names
 * the interval, so each interval is swept once.
 */
export async function requestFeedTrim(): Promise<void> {
  const interval = Math.floor(Date.now() / FEED_TRIM_INTERVAL_MS);
  const since = new Date((interval - 1) * FEED_TRIM_INTERVAL_MS).toISOString();
  const scope = await trimSweepScope();
  await startOnce<typeof trimFeedsWorkflow>(WORKFLOW_TYPES.trimFeeds, `trim/feeds/${scope}${interval}`, [{ since }]);
}

/**
 * Starts the scoring of one fan-out range on the ranking queue and leaves it running: the fan-out goes on with its
 * next slice (both commands leave in the same workflow task), and never waits for the model; the provisional score
 * stays until it lands. The id names the post version and the range's first page.
 */
export async function startScoring(version: number, page: number, range: ScoreRangeInput): Promise<void> {
  await startRangeScoring(`score/post/${range.postId}/v${version}/p${page}`, range);
}

/**
 * Marks a post dirty for re-scoring: signals its running `rescore/post/{postId}` workflow, or starts one already
 * marked. Signal-with-start is a client call; from a workflow, a signal that finds nobody falls back to a start,
 * and a start that loses the race to another starter signals the winner.
 */
export async function markPostDirty(postId: string): Promise<void> {
  const workflowId = `rescore/post/${postId}`;
  const signal = () => getExternalWorkflowHandle(workflowId).signal(postDirtySignal);
  try {
    await signal();
    return;
  } catch {
    // Not running: start it below.
  }
  try {
    await startChild<typeof rescorePostWorkflow>(WORKFLOW_TYPES.rescorePost, {
      workflowId,
      taskQueue: siblingQueue(workflowInfo().taskQueue, 'ranking'),
      args: [{ postId, dirty: true }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      workflowExecutionTimeout: '1 day',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    await signal();
  }
}
