import { ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { createMaintenanceActivities } from '../activities/maintenance';
import type { TrimFeedsInput, TrimFeedsResult } from '../pipeline/contracts/projection';
import { ensureSearchAttributes } from './helpers';

const { trimFeeds } = proxyActivities<ReturnType<typeof createMaintenanceActivities>>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

/**
 * The per-viewer cap (no TTL indexes here): trims every feed written in the window to its newest FEED_CAP items.
 * Run by the `feedflow-feed-trim` Schedule once per interval.
 */
export async function trimFeedsWorkflow(input: TrimFeedsInput): Promise<TrimFeedsResult> {
  const since =
    input?.since ??
    (Number.isFinite(input?.windowMs) && input.windowMs! > 0
      ? new Date(workflowInfo().startTime.getTime() - input.windowMs!).toISOString()
      : undefined);
  if (!since || Number.isNaN(Date.parse(since))) {
    throw ApplicationFailure.nonRetryable('since (an ISO time) or windowMs (> 0) is required', 'InvalidInput');
  }
  ensureSearchAttributes('trim', {});
  return await trimFeeds({ since });
}
