import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import { type FailedProjectionFilter, REPLAYABLE_STATUSES } from '../workflows/contracts/operations';
import { PROJECTION_KINDS, SEARCH_ATTRIBUTES } from '../workflows/shared';

/**
 * Temporal visibility and histories as a read source for operators: failed projections of one deployment (its task
 * queues), and why a run closed. Shared by OperationsService and the batch replay's activities.
 */

export interface FailedRun {
  workflowId: string;
  runId: string;
  workflowType: string;
  taskQueue: string;
  kind: string;
  postId: string;
  viewerId: string;
  status: 'FAILED' | 'TIMED_OUT' | 'TERMINATED' | 'CANCELED';
  failure: string;
  startTime: Date;
  closeTime?: Date;
}

// Values reach the query validated (ids, kinds, ISO times); quotes are stripped so nothing can escape the literal.
const literal = (v: string): string => `"${v.replace(/["\\]/g, '')}"`;

/** The visibility query for the filter: failed runs of projection kinds on the deployment's queues. */
export function failedProjectionQuery(filter: FailedProjectionFilter, taskQueues: string[]): string {
  const any = (field: string, values: readonly string[]) =>
    `(${values.map((v) => `${field} = ${literal(v)}`).join(' OR ')})`;
  const parts = [
    any('TaskQueue', taskQueues),
    any('ExecutionStatus', REPLAYABLE_STATUSES),
    filter.kind ? `FeedOperation = ${literal(filter.kind)}` : any('FeedOperation', PROJECTION_KINDS),
  ];
  if (filter.postId) parts.push(`PostId = ${literal(filter.postId)}`);
  if (filter.viewerId) parts.push(`ViewerId = ${literal(filter.viewerId)}`);
  if (filter.closedAfter) parts.push(`CloseTime >= ${literal(filter.closedAfter)}`);
  if (filter.closedBefore) parts.push(`CloseTime < ${literal(filter.closedBefore)}`);
  return parts.join(' AND ');
}

/** A raw Temporal Failure and its causes as one line: `Activity task failed: no event post/…`. */
function failureText(f: { message?: string | null; cause?: unknown } | null | undefined): string {
  const parts: string[] = [];
  for (let cur = f; cur && parts.length < 10; cur = cur.cause as typeof f) if (cur.message) parts.push(cur.message);
  return parts.join(': ');
}

export interface CloseInfo {
  /** Why the run did not complete; empty when it did. */
  failure: string;
  /** The next run, when this one continued as new. */
  continuedAs?: string;
}

/** Reads only the run's close event. */
export async function closeInfo(temporal: Client, workflowId: string, runId: string): Promise<CloseInfo> {
  const res = await temporal.workflowService.getWorkflowExecutionHistory({
    namespace: temporal.options.namespace,
    execution: { workflowId, runId },
    // HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT
    historyEventFilterType: 2,
  });
  const ev = res.history?.events?.at(-1);
  if (!ev) return { failure: '' };
  if (ev.workflowExecutionFailedEventAttributes) {
    return { failure: failureText(ev.workflowExecutionFailedEventAttributes.failure) || 'failed' };
  }
  if (ev.workflowExecutionTimedOutEventAttributes) return { failure: 'workflow execution timed out' };
  if (ev.workflowExecutionTerminatedEventAttributes) {
    const reason = ev.workflowExecutionTerminatedEventAttributes.reason;
    return { failure: reason ? `terminated: ${reason}` : 'terminated' };
  }
  if (ev.workflowExecutionCanceledEventAttributes) return { failure: 'canceled' };
  const next = ev.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
  return next ? { failure: '', continuedAs: next } : { failure: '' };
}

const STATUS: Record<string, FailedRun['status'] | undefined> = {
  FAILED: 'FAILED',
  TIMED_OUT: 'TIMED_OUT',
  TERMINATED: 'TERMINATED',
  CANCELLED: 'CANCELED',
};

function keyword(info: WorkflowExecutionInfo, key: (typeof SEARCH_ATTRIBUTES)[keyof typeof SEARCH_ATTRIBUTES]) {
  return (info.typedSearchAttributes.get(key) as string | undefined) ?? '';
}

export interface FailedPage {
  runs: FailedRun[];
  /** Null after the last page. */
  next: Uint8Array | null;
}

/**
 * One page of visibility for the query. A run is kept only while it is still its id's latest run (a later run, of
 * a replay or a retry, supersedes it) and, with `failureContains`, when its failure mentions that text. So a page
 * may hold fewer runs than asked for, with more pages after it.
 */
export async function failedProjectionPage(
  temporal: Client,
  opts: { query: string; pageSize: number; token?: Uint8Array; failureContains?: string; withFailure: boolean },
): Promise<FailedPage> {
  const namespace = temporal.options.namespace;
  const res = await temporal.workflowService.listWorkflowExecutions({
    namespace,
    query: opts.query,
    pageSize: opts.pageSize,
    nextPageToken: opts.token,
  });
  const needle = opts.failureContains?.toLowerCase();
  const runs = await Promise.all(
    (res.executions ?? []).map(async (raw): Promise<FailedRun | undefined> => {
      const info = await executionInfoFromRaw(raw, temporal.options.loadedDataConverter, raw, namespace);
      const status = STATUS[info.status.name];
      if (!status) return undefined;
      const latest = await temporal.workflow.getHandle(info.workflowId).describe();
      if (latest.runId !== info.runId) return undefined;
      const failure =
        opts.withFailure || needle ? (await closeInfo(temporal, info.workflowId, info.runId)).failure : '';
      if (needle && !failure.toLowerCase().includes(needle)) return undefined;
      return {
        workflowId: info.workflowId,
        runId: info.runId,
        workflowType: info.type,
        taskQueue: info.taskQueue,
        kind: keyword(info, SEARCH_ATTRIBUTES.feedOperation),
        postId: keyword(info, SEARCH_ATTRIBUTES.postId),
        viewerId: keyword(info, SEARCH_ATTRIBUTES.viewerId),
        status,
        failure,
        startTime: info.startTime,
        closeTime: info.closeTime,
      };
    }),
  );
  const token = res.nextPageToken;
  return { runs: runs.filter((r): r is FailedRun => !!r), next: token && token.length ? token : null };
}
