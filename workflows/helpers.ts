import {
  type SearchAttributeUpdatePair,
  type Workflow,
  WorkflowExecutionAlreadyStartedError,
} from '@temporalio/common';
import {
  ActivityFailure,
  getExternalWorkflowHandle,
  proxyActivities,
  ParentClosePolicy,
  proxyLocalActivities,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import type { createMaintenanceActivities } from '../activities/maintenance';
import type { createScoringActivities } from '../activities/scoring';
import { FEED_TRIM_INTERVAL_MS, type PullTransitionInput } from './contracts/projection';
import { postDirtySignal, type ScoreRangeInput, type ScoreViewerItemsInput } from './contracts/ranking';
// Types only: the started workflows import these helpers, so a runtime import would be a cycle.
import type { pullTransitionWorkflow } from './pull-transition';
import { WORKFLOW_TYPES, type WorkflowType } from './registry';
import type { rescorePostWorkflow } from './rescore-post';
import type { scoreFeedItemsWorkflow } from './score-feed-items';
import type { scoreViewerItemsWorkflow } from './score-viewer-items';
import { type FeedOperation, SEARCH_ATTRIBUTES, siblingQueue } from './shared';
import type { trimFeedsWorkflow } from './trim-feeds';

/** Helpers shared by the projection workflows; not workflows themselves, so not exported from index.ts. */

const { trimSweepScope } = proxyLocalActivities<ReturnType<typeof createMaintenanceActivities>>({
  startToCloseTimeout: '5 seconds',
});

/**
 * Makes sure an operator can find this run by post, author, viewer and operation, whoever started it: the command
 * side sets these at start, but a run started by hand (a replay from the CLI) may lack them. Upserts only what is
 * missing, so a normal run records no extra history event.
 */
export function ensureSearchAttributes(
  kind: FeedOperation,
  ids: { postId?: string; authorId?: string; viewerId?: string },
): void {
  const current = workflowInfo().typedSearchAttributes;
  const wanted: SearchAttributeUpdatePair[] = [{ key: SEARCH_ATTRIBUTES.feedOperation, value: kind }];
  if (ids.postId) wanted.push({ key: SEARCH_ATTRIBUTES.postId, value: ids.postId });
  if (ids.authorId) wanted.push({ key: SEARCH_ATTRIBUTES.authorId, value: ids.authorId });
  if (ids.viewerId) wanted.push({ key: SEARCH_ATTRIBUTES.viewerId, value: ids.viewerId });
  const missing = wanted.filter((pair) => current.get(pair.key) === undefined);
  if (missing.length) upsertSearchAttributes(missing);
}

/**
 * Starts a child that outlives its starter, at most once per id: the id may never be reused, and a start that
 * finds it taken (a replayed or retried starter) is done. A child nobody picks up (its queue gone, no ranking
 * worker) ends after an hour instead of staying open forever. `retryFailed` is for children whose work must happen
 * eventually: an id whose run failed or timed out may start again, and a run has a day.
 */
async function startOnce<W extends Workflow>(
  workflowType: WorkflowType,
  workflowId: string,
  args: Parameters<W>,
  taskQueue?: string,
  opts: { retryFailed?: boolean } = {},
): Promise<void> {
  try {
    // Checked at this function's signature: the SDK's options type cannot be resolved over an open W.
    await startChild<Workflow>(workflowType, {
      workflowId,
      ...(taskQueue ? { taskQueue } : {}),
      args,
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: opts.retryFailed
        ? WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
        : WorkflowIdReusePolicy.REJECT_DUPLICATE,
      workflowExecutionTimeout: opts.retryFailed ? '1 day' : '1 hour',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

/** The workflow id of a pull transition: one per author and state of their pull record. */
export function pullTransitionId(input: PullTransitionInput): string {
  return `pull-transition/author/${input.authorId}/${input.stamp}`;
}

/**
 * Starts the pull transition a fan-out found due, on the fan-out's own queue, and leaves it running: the pull record
 * stays until it finishes, so nobody waits for it. Concurrent fan-outs that see the same demotion start it once.
 */
export async function startPullTransition(input: PullTransitionInput): Promise<void> {
  const id = pullTransitionId(input);
  await startOnce<typeof pullTransitionWorkflow>(WORKFLOW_TYPES.pullTransition, id, [input], undefined, {
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

/** Starts the scoring of a range of a post's audience under this id on the ranking queue and leaves it running. */
export async function startRangeScoring(workflowId: string, range: ScoreRangeInput): Promise<void> {
  const rankingQueue = siblingQueue(workflowInfo().taskQueue, 'ranking');
  await startOnce<typeof scoreFeedItemsWorkflow>(WORKFLOW_TYPES.scoreFeedItems, workflowId, [range], rankingQueue);
}

/**
 * Starts the scoring of what a backfill or a rebuild delivered to one viewer on the ranking queue and leaves it
 * running. The id names the delivery.
 */
export async function startViewerScoring(workflowId: string, input: ScoreViewerItemsInput): Promise<void> {
  if (!input.postIds.length) return;
  const rankingQueue = siblingQueue(workflowInfo().taskQueue, 'ranking');
  await startOnce<typeof scoreViewerItemsWorkflow>(WORKFLOW_TYPES.scoreViewerItems, workflowId, [input], rankingQueue);
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

/** Items per scoring call. */
const SCORE_BATCH = 500;

/**
 * Scores feed items a repair, replay or rebuild wrote, on the ranking queue, and waits: returns how many items were
 * scored and how many failed after their retries (no ranking worker within 15 minutes counts as failed).
 */
export async function scoreOnRankingQueue(
  pairs: Array<{ viewerId: string; postId: string }>,
): Promise<{ scored: number; failed: number }> {
  const { scoreItemPairs } = proxyActivities<ReturnType<typeof createScoringActivities>>({
    taskQueue: siblingQueue(workflowInfo().taskQueue, 'ranking'),
    startToCloseTimeout: '5 minutes',
    scheduleToCloseTimeout: '15 minutes',
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 4 },
  });
  const result = { scored: 0, failed: 0 };
  for (let i = 0; i < pairs.length; i += SCORE_BATCH) {
    const batch = pairs.slice(i, i + SCORE_BATCH);
    try {
      await scoreItemPairs({ pairs: batch });
      result.scored += batch.length;
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      result.failed += batch.length;
    }
  }
  return result;
}
