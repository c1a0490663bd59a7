import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { type FailedProjectionFilter, REPLAYABLE_STATUSES } from '../pipeline/contracts/operations';
import { PROJECTION_KINDS } from '../pipeline/routing';
import { SEARCH_ATTRIBUTES } from '../pipeline/search-attributes';

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
  /** RUNNING: stuck, its activity failing past the bound. */
  status: 'FAILED' | 'TIMED_OUT' | 'TERMINATED' | 'CANCELED' | 'RUNNING';
  failure: string;
  /** A stuck run's attempts of its failing activity; 0 for a closed run. */
  attempts: number;
  startTime: Date;
  closeTime?: Date;
}

// Values reach the query validated (ids, kinds, ISO times); quotes are stripped so nothing can escape the literal.
const literal = (v: string): string => `"${v.replace(/["\\]/g, '')}"`;

/**
 * The visibility query for the filter: failed runs of projection kinds on the deployment's queues, and their running
 * runs, which the page keeps only when stuck (see `stuckOf`). The close-time window bounds the closed runs; a stuck
 * run is failing now, so only its start (before `closedBefore` less the bound) places it in a window.
 */
export function failedProjectionQuery(filter: FailedProjectionFilter, taskQueues: string[]): string {
  const any = (field: string, values: readonly string[]) =>
    `(${values.map((v) => `${field} = ${literal(v)}`).join(' OR ')})`;
  const parts = [
    any('TaskQueue', taskQueues),
    filter.kind ? `FeedOperation = ${literal(filter.kind)}` : any('FeedOperation', PROJECTION_KINDS),
  ];
  if (filter.postId) parts.push(`PostId = ${literal(filter.postId)}`);
  if (filter.viewerId) parts.push(`ViewerId = ${literal(filter.viewerId)}`);
  const closed = [any('ExecutionStatus', REPLAYABLE_STATUSES)];
  if (filter.closedAfter) closed.push(`CloseTime >= ${literal(filter.closedAfter)}`);
  if (filter.closedBefore) closed.push(`CloseTime < ${literal(filter.closedBefore)}`);
  parts.push(`((${closed.join(' AND ')}) OR ExecutionStatus = "Running")`);
  return parts.join(' AND ');
}

/**
 * Running runs of projection kinds on the deployment's queues started before `startedBefore` (an ISO time): the
 * candidates for stuck, so a count describes only runs old enough to be stuck, not every healthy projection.
 */
export function runningProjectionQuery(taskQueues: string[], startedBefore: string): string {
  const any = (field: string, values: readonly string[]) =>
    `(${values.map((v) => `${field} = ${literal(v)}`).join(' OR ')})`;
  return [
    any('TaskQueue', taskQueues),
    any('FeedOperation', PROJECTION_KINDS),
    'ExecutionStatus = "Running"',
    `StartTime < ${literal(startedBefore)}`,
  ].join(' AND ');
}

interface PendingActivity {
  activityType?: { name?: string | null } | null;
  attempt?: number | null;
  lastFailure?: { message?: string | null; cause?: unknown } | null;
}

/**
 * A running run is stuck when it started at least `stuckAfterMs` before `asOf` and an activity of it is pending after
 * a failed attempt (short steps run as local activities first, so a step shows here once it keeps failing). Its
 * failing activity's attempts and last error, or undefined when it is not stuck.
 */
export function stuckOf(
  startTime: Date,
  pending: PendingActivity[] | null | undefined,
  asOf: Date,
  stuckAfterMs: number,
): { attempts: number; failure: string } | undefined {
  if (asOf.getTime() - startTime.getTime() < stuckAfterMs) return undefined;
  const failing = (pending ?? []).filter((a) => (a.attempt ?? 0) > 1 && a.lastFailure);
  const worst = failing.sort((a, b) => (b.attempt ?? 0) - (a.attempt ?? 0))[0];
  if (!worst) return undefined;
  const name = worst.activityType?.name ?? 'activity';
  return { attempts: worst.attempt ?? 0, failure: `${name} failing: ${failureText(worst.lastFailure) || 'failed'}` };
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

function keyword(
  info: Pick<WorkflowExecutionInfo, 'typedSearchAttributes'>,
  key: (typeof SEARCH_ATTRIBUTES)[keyof typeof SEARCH_ATTRIBUTES],
) {
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
  opts: {
    query: string;
    pageSize: number;
    token?: Uint8Array;
    failureContains?: string;
    withFailure: boolean;
    /** Running runs are kept when stuck as of this time (now, or the batch's frozen `closedBefore`). */
    asOf: Date;
    stuckAfterMs: number;
  },
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
      // The id's latest run, described through the public client: kept only when it is the row's own run.
      const workflowId = raw.execution?.workflowId ?? '';
      if (!workflowId) return undefined;
      const info = await temporal.workflow.getHandle(workflowId).describe();
      if (info.runId !== raw.execution?.runId) return undefined;
      const status = info.status.name === 'RUNNING' ? 'RUNNING' : STATUS[info.status.name];
      if (!status) return undefined;
      let attempts = 0;
      let failure = '';
      if (status === 'RUNNING') {
        const stuck = stuckOf(info.startTime, info.raw.pendingActivities, opts.asOf, opts.stuckAfterMs);
        if (!stuck) return undefined;
        ({ attempts, failure } = stuck);
      } else if (opts.withFailure || needle) {
        failure = (await closeInfo(temporal, info.workflowId, info.runId)).failure;
      }
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
        attempts,
        startTime: info.startTime,
        closeTime: info.closeTime,
      };
    }),
  );
  const token = res.nextPageToken;
  return { runs: runs.filter((r): r is FailedRun => !!r), next: token && token.length ? token : null };
}
