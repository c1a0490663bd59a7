import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, type SearchAttributePair } from '@temporalio/common';
import { eventWorkflowId } from '../domain/events';
import type { Config } from '../lib/config';
import type { ProjectionRestart } from '../pipeline/contracts/operations';
import type { ProjectionInput } from '../pipeline/contracts/projection';
import { TASK_QUEUES } from '../pipeline/queues';
import { isWorkflowType } from '../pipeline/registry';
import { PROJECTIONS, SEARCH_PROJECTIONS } from '../pipeline/routing';
import { SEARCH_ATTRIBUTES } from '../pipeline/search-attributes';
import type { EventDoc } from '../stores/write-model';

export type StartConfig = Pick<Config, 'TASK_QUEUE_PREFIX' | 'PROJECTION_TIMEOUT_MS'> & {
  /** The client shares a NativeConnection with workers of the projection queues (workers/first-hop.ts). */
  eager?: boolean;
};

/** How a start went: `eager` when its first workflow task came back with the start and ran in this process. */
export type StartOutcome = 'eager' | 'started' | 'existing' | 'none';

export function projectionInput(ev: EventDoc): ProjectionInput {
  const p = ev.payload;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
  const postId = ev.aggregateType === 'post' ? ev.aggregateId : str(p.postId);
  return {
    eventId: ev._id,
    type: ev.type,
    aggregateId: ev.aggregateId,
    version: ev.aggregateVersion,
    acceptedAt: ev.at.toISOString(),
    actorId: ev.actorId,
    ...(str(p.to) ? { subjectId: str(p.to) } : {}),
    ...(postId ? { postId } : {}),
  };
}

function searchAttributes(ev: EventDoc, input: ProjectionInput): SearchAttributePair[] {
  const route = PROJECTIONS[ev.type];
  const pairs: SearchAttributePair[] = [{ key: SEARCH_ATTRIBUTES.feedOperation, value: route?.kind ?? 'none' }];
  const authorId = ev.aggregateType === 'post' ? String(ev.payload.authorId) : (input.subjectId ?? input.actorId);
  if (input.postId) pairs.push({ key: SEARCH_ATTRIBUTES.postId, value: input.postId });
  pairs.push({ key: SEARCH_ATTRIBUTES.authorId, value: authorId });
  // The member whose feed changes, where a single one does.
  if (ev.aggregateType === 'relationship' || ev.aggregateType === 'engagement') {
    pairs.push({ key: SEARCH_ATTRIBUTES.viewerId, value: input.actorId });
  }
  return pairs;
}

/**
 * How an event's projection starts: the route stored on the event at commit (workflow id, type and queue), the
 * search attributes operators find it by. Null for events that project nothing. A failed projection is started
 * again the same way.
 */
export function projectionStart(ev: EventDoc, config: StartConfig): ProjectionRestart | null {
  if (!ev.workflowId) return null;
  if (!isWorkflowType(ev.workflowType) || !ev.taskQueue) {
    throw new Error(`event ${ev._id} names no startable route (${ev.workflowType} on ${ev.taskQueue})`);
  }
  const input = projectionInput(ev);
  return {
    workflowId: ev.workflowId,
    workflowType: ev.workflowType,
    taskQueue: ev.taskQueue,
    args: [input],
    searchAttributes: Object.fromEntries(searchAttributes(ev, input).map((p) => [p.key.name, String(p.value)])),
    executionTimeoutMs: config.PROJECTION_TIMEOUT_MS,
  };
}

/** Starts the event's projection, if it has one. Its workflow id is stored on the event, so a second start is a no-op. */
export async function startProjection(temporal: Client, ev: EventDoc, config: StartConfig): Promise<StartOutcome> {
  const start = projectionStart(ev, config);
  if (!start) return 'none';
  try {
    const handle = await temporal.workflow.start(start.workflowType, {
      taskQueue: start.taskQueue,
      workflowId: start.workflowId,
      args: start.args,
      // A finished projection is never re-run by a late duplicate start; a failed one may be started again.
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      typedSearchAttributes: searchAttributes(ev, start.args[0]),
      ...(start.executionTimeoutMs ? { workflowExecutionTimeout: start.executionTimeoutMs } : {}),
      ...(config.eager ? { requestEagerStart: true } : {}),
    });
    return handle.eagerlyStarted ? 'eager' : 'started';
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return 'existing';
  }
}

/**
 * Starts the event's search indexing on the search queue, if it changes what search finds, as
 * `{prefix}search/{eventId}:{time}`:
 * beside the projection, never inside it, so OpenSearch being slow or down never delays a feed.
 */
export async function startSearchIndexing(temporal: Client, ev: EventDoc, config: StartConfig): Promise<void> {
  const workflowType = SEARCH_PROJECTIONS[ev.type];
  if (!workflowType) return;
  const input = projectionInput(ev);
  const authorId = ev.aggregateType === 'post' ? String(ev.payload.authorId) : ev.aggregateId;
  try {
    await temporal.workflow.start(workflowType, {
      taskQueue: config.TASK_QUEUE_PREFIX + TASK_QUEUES.search,
      workflowId: eventWorkflowId(config.TASK_QUEUE_PREFIX, ev._id, ev.at, 'search'),
      args: [input],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      typedSearchAttributes: [
        { key: SEARCH_ATTRIBUTES.feedOperation, value: 'search-index' },
        ...(input.postId ? [{ key: SEARCH_ATTRIBUTES.postId, value: input.postId }] : []),
        { key: SEARCH_ATTRIBUTES.authorId, value: authorId },
      ],
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}
