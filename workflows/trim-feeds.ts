import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { createMaintenanceActivities } from '../activities/maintenance';
import type { TrimFeedsInput, TrimFeedsResult } from './contracts/projection';
import { ensureSearchAttributes } from './helpers';

const { trimFeeds } = proxyActivities<ReturnType<typeof createMaintenanceActivities>>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

/**
 * The per-viewer cap (no TTL indexes here): trims every feed written since `since` to its newest FEED_CAP items.
 * Started by fan-outs and backfills, once per interval (see requestFeedTrim).
 */
export async function trimFeedsWorkflow(input: TrimFeedsInput): Promise<TrimFeedsResult> {
  if (!input?.since || Number.isNaN(Date.parse(input.since))) {
    throw ApplicationFailure.nonRetryable('since must be an ISO time', 'InvalidInput');
  }
  ensureSearchAttributes('trim', {});
  return await trimFeeds(input);
}
