import { type SearchAttributeUpdatePair, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  getExternalWorkflowHandle,
  ParentClosePolicy,
  proxyLocalActivities,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import type { createMaintenanceActivities } from '../activities/maintenance';
import {
  FEED_TRIM_INTERVAL_MS,
  postDirtySignal,
  type ProjectionKind,
  type RescorePostInput,
  type ScoreRangeInput,
  type ScoreViewerItemsInput,
  SEARCH_ATTRIBUTES,
  siblingQueue,
  type TrimFeedsInput,
} from './shared';

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
  kind: ProjectionKind | 'trim',
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
 * Starts the cap sweep of the previous interval unless some fan-out or backfill already did: the workflow id names
 * the interval and may never be reused, so each interval is swept once. The sweep outlives its starter.
 */
export async function requestFeedTrim(): Promise<void> {
  const interval = Math.floor(Date.now() / FEED_TRIM_INTERVAL_MS);
  const since = new Date((interval - 1) * FEED_TRIM_INTERVAL_MS).toISOString();
  const scope = await trimSweepScope();
  try {
    await startChild('trimFeedsWorkflow', {
      workflowId: `trim/feeds/${scope}${interval}`,
      args: [{ since } satisfies TrimFeedsInput],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      // A sweep nobody picks up (its queue gone) must not stay open forever.
      workflowExecutionTimeout: '1 hour',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

/**
 * Starts the scoring of one fan-out range on the ranking queue and leaves it running: the fan-out goes on with its
 * next slice (both commands leave in the same workflow task), and never waits for the model. The id names the
 * post version and the range's first page, so a replayed or retried fan-out starts each scoring once.
 */
export async function startScoring(version: number, page: number, range: ScoreRangeInput): Promise<void> {
  try {
    await startChild('scoreFeedItemsWorkflow', {
      workflowId: `score/post/${range.postId}/v${version}/p${page}`,
      taskQueue: siblingQueue(workflowInfo().taskQueue, 'ranking'),
      args: [range],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      // Scoring nobody picks up (no ranking worker) must not stay open forever; the provisional score stays.
      workflowExecutionTimeout: '1 hour',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

/**
 * Starts the scoring of a backfill's delivery to one viewer on the ranking queue and leaves it running. The id
 * names the relationship event and the viewer, so a replayed backfill starts it once.
 */
export async function startViewerScoring(eventId: string, input: ScoreViewerItemsInput): Promise<void> {
  if (!input.postIds.length) return;
  try {
    await startChild('scoreViewerItemsWorkflow', {
      workflowId: `score/backfill/${eventId}/${input.viewerId}`,
      taskQueue: siblingQueue(workflowInfo().taskQueue, 'ranking'),
      args: [input],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      workflowExecutionTimeout: '1 hour',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
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
    await startChild('rescorePostWorkflow', {
      workflowId,
      taskQueue: siblingQueue(workflowInfo().taskQueue, 'ranking'),
      args: [{ postId, dirty: true } satisfies RescorePostInput],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      workflowExecutionTimeout: '1 day',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    await signal();
  }
}
