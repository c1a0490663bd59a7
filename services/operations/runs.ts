import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { HandlerContext } from '@connectrpc/connect';
import { type Client, type WorkflowExecutionDescription, WorkflowNotFoundError } from '@temporalio/client';
import { invalid, notFound } from '../../domain/errors';
import {
  type Operation,
  OperationState,
  type ReplayBatchProgress,
  type SearchReindexProgress,
} from '../../gen/feedflow/v1/operations_pb';
import type { ReplayBatchProgress as BatchProgress } from '../../pipeline/contracts/operations';
import type { ReindexProgress } from '../../pipeline/contracts/search';
import { TASK_QUEUES } from '../../pipeline/queues';
import { itemsWrittenOf, WORKFLOW_TYPES } from '../../pipeline/registry';
import { replayChildId } from '../../pipeline/routing';
import { SEARCH_ATTRIBUTES } from '../../pipeline/search-attributes';
import { closeInfo } from '../../stores/workflow-runs';

/** Operations as an operator sees them: any feedflow workflow by id, mapped from Temporal, and bounded waits. */

export type OperationMessage = Omit<Operation, '$typeName' | '$unknown' | 'batch' | 'searchReindex'> & {
  batch?: Omit<ReplayBatchProgress, '$typeName' | '$unknown'>;
  searchReindex?: Omit<SearchReindexProgress, '$typeName' | '$unknown'>;
};

export interface OperationView {
  operation: OperationMessage;
  /** The decoded result, when the run completed. */
  result?: unknown;
}

const WORKFLOW_ID = /^[A-Za-z0-9_.:/-]{1,256}$/;
// Temporal run ids are UUIDs.
const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const STATES: Record<string, OperationState> = {
  RUNNING: OperationState.RUNNING,
  COMPLETED: OperationState.COMPLETED,
  FAILED: OperationState.FAILED,
  CANCELLED: OperationState.CANCELED,
  TERMINATED: OperationState.TERMINATED,
  TIMED_OUT: OperationState.TIMED_OUT,
  CONTINUED_AS_NEW: OperationState.CONTINUED_AS_NEW,
};

/** Time kept back from the call's deadline to describe the run and answer: a quarter of it, at most this. */
const ANSWER_MARGIN_MS = 1_000;
/** A running workflow's progress query waits no longer for a worker to answer. */
const QUERY_TIMEOUT_MS = 2_000;
/** Of a bounded wait, the part kept for describing the run and its progress query afterwards: half, at most this. */
const DESCRIBE_RESERVE_MS = 500;
/** Continue-as-new links followed at most. */
const MAX_RUNS = 1_000;

export function requireWorkflowId(value: string): string {
  if (!value) throw invalid('workflow_id is required');
  if (!WORKFLOW_ID.test(value)) throw invalid('workflow_id must be 1 to 256 letters, digits or _.:/-');
  return value;
}

/**
 * How long a call may wait: the request's own bound, and always the call's gRPC deadline less a margin to answer.
 * Undefined: no bound (no deadline, no wait_seconds).
 */
export function waitBudgetMs(ctx: HandlerContext, waitSeconds: number): number | undefined {
  const deadline = ctx.timeoutMs();
  const bounds = [
    ...(waitSeconds ? [waitSeconds * 1000] : []),
    ...(deadline !== undefined ? [Math.max(0, deadline - Math.min(ANSWER_MARGIN_MS, deadline / 4))] : []),
  ];
  return bounds.length ? Math.min(...bounds) : undefined;
}

const batchOf = (p: BatchProgress | undefined) =>
  p && { matched: p.matched, replayed: p.replayed, skipped: p.skipped, failed: p.failed, done: p.done };
const reindexOf = (p: ReindexProgress | undefined) =>
  p && { index: p.index, total: p.total, indexed: p.itemsWritten, done: p.done };

async function describeRun(
  temporal: Client,
  workflowId: string,
  runId?: string,
): Promise<WorkflowExecutionDescription> {
  try {
    return await temporal.workflow.getHandle(workflowId, runId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || (err as { code?: number }).code === 5) {
      throw notFound(`no feedflow operation ${workflowId}${runId ? ` run ${runId}` : ''}`);
    }
    throw err;
  }
}

/**
 * Asks a running workflow for its progress; nothing when no worker answers in time, or by `until` (epoch ms).
 * Each id of `ids` is tried in turn while the workflow is not found.
 */
async function progressOf<T>(temporal: Client, ids: string[], until = Infinity): Promise<T | undefined> {
  for (const id of ids) {
    const timeout = Math.min(QUERY_TIMEOUT_MS, until - Date.now());
    if (timeout <= 0) return undefined;
    try {
      return await temporal.withDeadline(Date.now() + timeout, () =>
        temporal.workflow.getHandle(id).query<T>('progress'),
      );
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError || (err as { code?: number }).code === 5)) return undefined;
    }
  }
  return undefined;
}

/** The operations' Temporal runs as GetOperation shows them. */
export interface OperationReader {
  describe(workflowId: string, runId?: string, until?: number): Promise<OperationView>;
  waitFor(workflowId: string, budgetMs: number | undefined, signal: AbortSignal): Promise<OperationView>;
}

export function createOperationReader(temporal: Client, taskQueuePrefix: string): OperationReader {
  const queues = new Set(Object.values(TASK_QUEUES).map((q) => taskQueuePrefix + q));

  /**
   * The operation's latest run, following continue-as-new from `runId` if given. A progress query of a running
   * one gives up by `until` (epoch ms), so a caller's deadline bounds it.
   */
  async function describe(workflowId: string, runId?: string, until?: number): Promise<OperationView> {
    requireWorkflowId(workflowId);
    if (runId && !RUN_ID.test(runId)) throw invalid('run_id must be a Temporal run id (a UUID)');
    let d = await describeRun(temporal, workflowId, runId || undefined);
    // Only this deployment's workflows: another system's (or another deployment's) ids are not ours to show.
    if (!queues.has(d.taskQueue)) throw notFound(`no feedflow operation ${workflowId}`);
    let runs = 1;
    while (d.status.name === 'CONTINUED_AS_NEW' && runs < MAX_RUNS) {
      const next = (await closeInfo(temporal, workflowId, d.runId)).continuedAs;
      if (!next) break;
      d = await describeRun(temporal, workflowId, next);
      runs++;
    }
    const operation: OperationMessage = {
      workflowId,
      runId: d.runId,
      workflowType: d.type,
      kind: (d.typedSearchAttributes.get(SEARCH_ATTRIBUTES.feedOperation) as string | undefined) ?? '',
      state: STATES[d.status.name] ?? OperationState.UNSPECIFIED,
      itemsWritten: 0,
      error: '',
      startTime: timestampFromDate(d.startTime),
      ...(d.closeTime ? { closeTime: timestampFromDate(d.closeTime) } : {}),
      runs,
    };
    const isBatch = d.type === WORKFLOW_TYPES.replayFailedProjections;
    const isReindex = d.type === WORKFLOW_TYPES.reindexSearch;
    let result: unknown;
    if (d.status.name === 'COMPLETED') {
      result = await temporal.workflow.getHandle(workflowId, d.runId).result();
      operation.itemsWritten = itemsWrittenOf(d.type, result);
      if (isBatch) operation.batch = batchOf(result as BatchProgress);
      if (isReindex) operation.searchReindex = reindexOf(result as ReindexProgress);
    } else if (d.status.name === 'RUNNING') {
      if (isReindex) {
        const p = await progressOf<ReindexProgress>(temporal, [workflowId], until);
        operation.itemsWritten = p?.itemsWritten ?? 0;
        operation.searchReindex = reindexOf(p);
      } else if (isBatch) {
        const p = await progressOf<BatchProgress>(temporal, [workflowId], until);
        operation.itemsWritten = p?.itemsWritten ?? 0;
        operation.batch = batchOf(p);
      } else if (d.type === WORKFLOW_TYPES.fanoutPost || d.type === WORKFLOW_TYPES.replayFanout) {
        // A replay's writes are its fan-out child's, one per replay run (a run from before that, one per replay id).
        const ids =
          d.type === WORKFLOW_TYPES.replayFanout
            ? [replayChildId(workflowId, d.runId), `${workflowId}/fanout`]
            : [workflowId];
        operation.itemsWritten = (await progressOf<{ itemsWritten: number }>(temporal, ids, until))?.itemsWritten ?? 0;
      }
    } else {
      operation.error = (await closeInfo(temporal, workflowId, d.runId)).failure;
    }
    return { operation, result };
  }

  /**
   * Waits for the operation to close, then describes it: closed, or still running when the budget ran out. The
   * budget (undefined: none) covers the description too: the wait ends early enough for it.
   */
  async function waitFor(workflowId: string, budgetMs: number | undefined, signal: AbortSignal) {
    const ac = new AbortController();
    const until = budgetMs === undefined ? undefined : Date.now() + budgetMs;
    const waitMs = budgetMs === undefined ? undefined : budgetMs - Math.min(DESCRIBE_RESERVE_MS, budgetMs / 2);
    const timer = waitMs === undefined ? undefined : setTimeout(() => ac.abort(), waitMs);
    const onAbort = () => ac.abort();
    signal.addEventListener('abort', onAbort);
    try {
      await temporal.withAbortSignal(ac.signal, () => temporal.workflow.getHandle(workflowId).result());
    } catch {
      // Closed without completing, or the wait ran out: describe() tells which.
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
    return describe(workflowId, undefined, until);
  }

  return { describe, waitFor };
}
