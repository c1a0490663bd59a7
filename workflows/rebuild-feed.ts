import { ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { createRepairActivities } from '../activities/repairs';
import type { RebuildFeedInput, RebuildFeedResult } from '../pipeline/contracts/operations';
import { ensureSearchAttributes, startViewerScoring } from './helpers';

const { rebuildFeed } = proxyActivities<ReturnType<typeof createRepairActivities>>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '10 seconds' },
});

/**
 * Rebuilds one member's feed from the write model and the graph (`rebuild/feed/{viewerId}`), then has the items it
 * wrote scored on the ranking queue. Idempotent: a second rebuild writes nothing.
 */
export async function rebuildFeedWorkflow(input: RebuildFeedInput): Promise<RebuildFeedResult> {
  if (!input?.viewerId) throw ApplicationFailure.nonRetryable('viewerId is required', 'InvalidInput');
  ensureSearchAttributes('rebuild', { viewerId: input.viewerId });
  const { postIds, ...result } = await rebuildFeed(input);
  const info = workflowInfo();
  await startViewerScoring(`score/rebuild/${input.viewerId}/${info.runId}`, { viewerId: input.viewerId, postIds });
  return result;
}
