import { type SearchAttributeUpdatePair, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ParentClosePolicy,
  proxyLocalActivities,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import type { createMaintenanceActivities } from '../activities/maintenance';
import { FEED_TRIM_INTERVAL_MS, type ProjectionKind, SEARCH_ATTRIBUTES, type TrimFeedsInput } from './shared';

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
