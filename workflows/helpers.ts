import {
  type SearchAttributeUpdatePair,
  type Workflow,
  WorkflowExecutionAlreadyStartedError,
} from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  ParentClosePolicy,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import type { createScoringActivities } from '../activities/scoring';
import type { ProjectionInput } from '../pipeline/contracts/projection';
import type { ScoreRangeInput, ScoreViewerItemsInput } from '../pipeline/contracts/ranking';
import { siblingQueue } from '../pipeline/queues';
import { type WorkflowType, WORKFLOW_TYPES } from '../pipeline/registry';
import { type FeedOperation } from '../pipeline/routing';
import { SEARCH_ATTRIBUTES } from '../pipeline/search-attributes';
import type { scoreFeedItemsWorkflow } from './score-feed-items';
import type { scoreViewerItemsWorkflow } from './score-viewer-items';

/** Helpers shared by the projection workflows; not workflows themselves, so not exported from index.ts. */

/** The post an update or delete event names; InvalidInput when its event id, post id or version is missing. */
export function requirePostVersion(input: ProjectionInput): string {
  const postId = input?.postId ?? input?.aggregateId;
  if (!postId || !input.eventId || !input.version) {
    throw ApplicationFailure.nonRetryable('eventId, postId and version are required', 'InvalidInput');
  }
  return postId;
}

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
export async function startOnce<W extends Workflow>(
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

/**
 * Scores a post's items from `first` to the end of its audience, range by range, through the caller's
 * `scoreRange` (its timeouts and retries). Returns the items written.
 */
export async function scoreWholePost(
  scoreRange: ReturnType<typeof createScoringActivities>['scoreRange'],
  first: ScoreRangeInput,
): Promise<number> {
  let range = first;
  let written = 0;
  for (;;) {
    const res = await scoreRange(range);
    written += res.written;
    if (res.cursor === null) return written;
    range = { ...range, after: res.cursor, includeAuthor: false };
  }
}
