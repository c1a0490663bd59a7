import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { invalid } from '../../domain/errors';
import type { OperationsService, ReindexSearchRequest } from '../../gen/feedflow/v1/operations_pb';
import type { Config } from '../../lib/config';
import { TASK_QUEUES } from '../../pipeline/queues';
import { SEARCH_ATTRIBUTES } from '../../pipeline/search-attributes';
import { reindexSearchWorkflow } from '../../workflows/reindex-search';
import { type OperationReader, waitBudgetMs } from './runs';

const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** The operator's search RPCs, as OperationsService serves them. */
export type SearchOperations = Pick<ServiceImpl<typeof OperationsService>, 'reindexSearch'>;

/** The operator's search controls: ReindexSearch. Runs on the search queue, where the search worker polls. */
export function createSearchOperations(deps: {
  temporal: Client;
  config: Pick<Config, 'TASK_QUEUE_PREFIX'>;
  runs: OperationReader;
}): SearchOperations {
  const { temporal, config, runs } = deps;
  return {
    /** Starts (or joins) a rebuild of the search index; with `wait`, answers when the alias was swapped. */
    async reindexSearch(req: ReindexSearchRequest, ctx: HandlerContext) {
      if (!REQUEST_ID.test(req.requestId)) throw invalid('request_id must be 1 to 128 letters, digits or _.:-');
      if (req.pageSize > 5000) throw invalid('page_size must be 1 to 5000 (0 means 1000)');
      const workflowId = `${config.TASK_QUEUE_PREFIX}search-reindex/${req.requestId}`;
      try {
        await temporal.workflow.start(reindexSearchWorkflow, {
          taskQueue: config.TASK_QUEUE_PREFIX + TASK_QUEUES.search,
          workflowId,
          args: [{ requestId: req.requestId, ...(req.pageSize ? { pageSize: req.pageSize } : {}) }],
          // One rebuild per request id: asking again joins it or reports it done; only a failed one runs again.
          workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
          typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.feedOperation, value: 'search-reindex' }],
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      const view = req.wait
        ? await runs.waitFor(workflowId, waitBudgetMs(ctx, req.waitSeconds), ctx.signal)
        : await runs.describe(workflowId);
      return { workflowId, operation: view.operation };
    },
  };
}
