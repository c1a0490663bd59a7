import { ApplicationFailure, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { createSearchActivities } from '../activities/search';
import { type ReindexProgress, reindexProgressQuery, type ReindexSearchInput } from '../pipeline/contracts/search';
import { ensureSearchAttributes } from './helpers';

const { beginSearchRebuild, rebuildSearchPage, finishSearchRebuild } = proxyActivities<
  ReturnType<typeof createSearchActivities>
>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

const PAGES_PER_RUN = 200;

/**
 * Rebuilds the search index from the write model without downtime: a new index (which live indexing writes to as
 * well from its creation), filled page by page with bulk writes, then one atomic alias swap. Searches read the old
 * index until the swap. Progress: the `progress` query, so GetOperation and the UI show it.
 */
export async function reindexSearchWorkflow(input: ReindexSearchInput): Promise<ReindexProgress> {
  if (!input?.requestId) throw ApplicationFailure.nonRetryable('requestId is required', 'InvalidInput');
  const limit = Math.min(Math.max(input.pageSize ?? 1000, 1), 5000);
  ensureSearchAttributes('search-reindex', {});
  let progress: ReindexProgress = input.carry ?? {
    index: '',
    total: 0,
    itemsWritten: 0,
    pages: 0,
    cursor: '',
    replaced: [],
    done: false,
  };
  setHandler(reindexProgressQuery, () => progress);
  if (!progress.index) {
    // The index is named after the run, so a retried start never makes a second one.
    const begun = await beginSearchRebuild({ stamp: workflowInfo().runId.slice(0, 8).toLowerCase() });
    progress = { ...progress, index: begun.index, total: begun.total };
  }
  for (let i = 0; i < PAGES_PER_RUN; i++) {
    const page = await rebuildSearchPage({ index: progress.index, after: progress.cursor, limit });
    progress = {
      ...progress,
      itemsWritten: progress.itemsWritten + page.written + page.stale,
      pages: progress.pages + 1,
      cursor: page.next ?? progress.cursor,
    };
    if (!page.next) {
      const { replaced } = await finishSearchRebuild({ index: progress.index });
      progress = { ...progress, replaced, done: true };
      return progress;
    }
  }
  return await continueAsNew<typeof reindexSearchWorkflow>({ ...input, carry: progress });
}
