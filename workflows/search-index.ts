import { ApplicationFailure, continueAsNew, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { createSearchActivities } from '../activities/search';
import type { ProjectionInput } from '../pipeline/contracts/projection';
import type { SearchIndexResult } from '../pipeline/contracts/search';
import { ensureSearchAttributes } from './helpers';
import { STEP_RETRY } from './retry';
import { tryLocal } from './steps';

// No maximum attempts and no schedule-to-close bound: while OpenSearch is down the write is retried (at most every
// 10 s) until it is back, so nothing is lost; the write is idempotent, so a retry never duplicates.
const { indexPosts, indexAuthorPage } = proxyActivities<ReturnType<typeof createSearchActivities>>({
  startToCloseTimeout: '1 minute',
  retry: { ...STEP_RETRY, backoffCoefficient: 2 },
});

// A post's write first runs locally, in the workflow task that started the run (no activity round trip).
const local = proxyLocalActivities<ReturnType<typeof createSearchActivities>>({
  startToCloseTimeout: '10 seconds',
  retry: { ...STEP_RETRY, maximumAttempts: 3 },
});

const AUTHOR_PAGE = 500;
/** Pages per run before a rename's re-index continues as new, to keep history short. */
const PAGES_PER_RUN = 50;

/**
 * Keeps the search index in step with one event, on the search queue so search never slows a fan-out: a post's
 * create, edit or delete writes the post as it is now (one local activity, an activity once that fails); a profile change re-indexes the author's posts
 * page by page, so the new name is searchable.
 */
export async function searchIndexWorkflow(
  input: ProjectionInput,
  carry?: { after: string; result: SearchIndexResult },
): Promise<SearchIndexResult> {
  if (!input?.eventId || !input.aggregateId) {
    throw ApplicationFailure.nonRetryable('eventId and aggregateId are required', 'InvalidInput');
  }
  if (input.type !== 'ProfileUpdated') {
    const postId = input.postId ?? input.aggregateId;
    ensureSearchAttributes('search-index', { postId, authorId: input.actorId });
    const req = { postIds: [postId] };
    return {
      ...(await tryLocal(
        () => local.indexPosts(req),
        () => indexPosts(req),
      )),
      pages: 0,
    };
  }
  ensureSearchAttributes('search-index', { authorId: input.aggregateId });
  const result = carry?.result ?? { written: 0, stale: 0, pages: 0 };
  let after = carry?.after ?? '';
  for (let i = 0; i < PAGES_PER_RUN; i++) {
    const page = await indexAuthorPage({ authorId: input.aggregateId, after, limit: AUTHOR_PAGE });
    result.written += page.written;
    result.stale += page.stale;
    result.pages++;
    if (!page.next) return result;
    after = page.next;
  }
  return await continueAsNew<typeof searchIndexWorkflow>(input, { after, result });
}
