import { proxyActivities } from '@temporalio/workflow';
import type { createSearchActivities } from '../activities/search';
import type { SearchCheckInput, SearchCheckResult } from '../pipeline/contracts/search';
import { ensureSearchAttributes } from './helpers';

const { checkSearchIndex } = proxyActivities<ReturnType<typeof createSearchActivities>>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
});

/**
 * The scheduled search check: samples the index against the write model (posts of recent events and random live
 * documents) and re-indexes what is missing, stale or still live after a delete.
 */
export async function searchCheckWorkflow(input: SearchCheckInput): Promise<SearchCheckResult> {
  ensureSearchAttributes('search-check', {});
  return await checkSearchIndex(input);
}
