import { Context } from '@temporalio/activity';
import type { WorkflowStartOptions } from '@temporalio/client';
import { type SearchAttributePair, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { DetachedStart } from '../pipeline/contracts/projection';
import { deploymentPrefix, siblingQueue } from '../pipeline/queues';
import { SEARCH_ATTRIBUTES } from '../pipeline/search-attributes';

const KEYS = new Map(Object.values(SEARCH_ATTRIBUTES).map((key) => [key.name, key]));

function searchAttributes(named: Record<string, string> = {}): SearchAttributePair[] {
  return Object.entries(named).flatMap(([name, value]) => {
    const key = KEYS.get(name);
    return key && value ? [{ key, value }] : [];
  });
}

/** The activities of createStartActivities, as workflows proxy them. */
export interface StartActivities {
  startDetached(starts: DetachedStart[]): Promise<number>;
}

/**
 * Starts through the worker's own client (`Context.client`, over the worker's connection), so a projection hands
 * work to other queues in one local activity instead of child workflows, each of which would cost it a workflow
 * task and a server round trip. Needs no dependencies. Workflow ids get the deployment's prefix here, as queue names
 * do, so two databases on one namespace never meet in a detached start.
 */
export function createStartActivities(): StartActivities {
  return {
    /** Starts each workflow (`{prefix}{workflowId}`) unless its id is already taken; returns how many it started (signalled, for signals). */
    async startDetached(starts: DetachedStart[]): Promise<number> {
      const { client, info } = Context.current();
      const results = await Promise.all(
        starts.map(async (s) => {
          const options: WorkflowStartOptions = {
            workflowId: deploymentPrefix(info.taskQueue) + s.workflowId,
            taskQueue: siblingQueue(info.taskQueue, s.queue),
            args: s.args,
            workflowIdReusePolicy: s.signal
              ? 'ALLOW_DUPLICATE'
              : s.retryFailed
                ? 'ALLOW_DUPLICATE_FAILED_ONLY'
                : 'REJECT_DUPLICATE',
            workflowExecutionTimeout: s.retryFailed || s.signal ? '1 day' : '1 hour',
            typedSearchAttributes: searchAttributes(s.searchAttributes),
          };
          try {
            if (s.signal) await client.workflow.signalWithStart(s.workflowType, { ...options, signal: s.signal });
            else await client.workflow.start(s.workflowType, options);
            return 1;
          } catch (err) {
            if (err instanceof WorkflowExecutionAlreadyStartedError) return 0;
            throw err;
          }
        }),
      );
      return results.reduce<number>((a, b) => a + b, 0);
    },
  };
}
