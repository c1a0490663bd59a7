import { createHash } from 'node:crypto';
import { type Timestamp, timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { invalid } from '../../domain/errors';
import {
  type FailedProjection,
  type FailedProjectionFilter as FilterMessage,
  OperationState,
} from '../../gen/feedflow/v1/operations_pb';
import type { FailedProjectionFilter, ReplayFailedInput } from '../../pipeline/contracts/operations';
import { TASK_QUEUES } from '../../pipeline/queues';
import { PROJECTION_KINDS, type ProjectionKind } from '../../pipeline/routing';
import { SEARCH_ATTRIBUTES } from '../../pipeline/search-attributes';
import {
  type FailedRun,
  failedProjectionPage,
  failedProjectionQuery,
  runningProjectionQuery,
} from '../../stores/workflow-runs';
import { replayFailedProjectionsWorkflow } from '../../workflows/replay-failed-projections';

/** ListFailedProjections and ReplayFailedProjections: filters, page tokens and the batch's business key. */

export type FailedProjectionMessage = Omit<FailedProjection, '$typeName' | '$unknown'>;

const ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const STATES: Record<FailedRun['status'], OperationState> = {
  FAILED: OperationState.FAILED,
  TIMED_OUT: OperationState.TIMED_OUT,
  TERMINATED: OperationState.TERMINATED,
  CANCELED: OperationState.CANCELED,
  RUNNING: OperationState.RUNNING,
};

/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range google.protobuf.Timestamp allows. */
const MIN_SECONDS = -62_135_596_800n;
const MAX_SECONDS = 253_402_300_799n;

/** A timestamp as an ISO string, or INVALID_ARGUMENT naming the field when it is outside years 1 to 9999. */
function isoOf(field: string, ts: Timestamp): string {
  if (ts.seconds < MIN_SECONDS || ts.seconds > MAX_SECONDS || ts.nanos < 0 || ts.nanos > 999_999_999) {
    throw invalid(`${field} must be a valid timestamp in years 1 to 9999`);
  }
  return timestampDate(ts).toISOString();
}

export function filterOf(f: FilterMessage | undefined): FailedProjectionFilter {
  const filter: FailedProjectionFilter = {};
  if (!f) return filter;
  if (f.kind) {
    if (!PROJECTION_KINDS.includes(f.kind as ProjectionKind)) {
      throw invalid(`filter.kind must be one of ${PROJECTION_KINDS.join(', ')}`);
    }
    filter.kind = f.kind as ProjectionKind;
  }
  for (const [name, value] of [
    ['post_id', f.postId],
    ['viewer_id', f.viewerId],
  ] as const) {
    if (value && !ID.test(value)) throw invalid(`filter.${name} must be 1 to 128 letters, digits or _.:-`);
  }
  if (f.postId) filter.postId = f.postId;
  if (f.viewerId) filter.viewerId = f.viewerId;
  if (f.closedAfter) filter.closedAfter = isoOf('filter.closed_after', f.closedAfter);
  if (f.closedBefore) filter.closedBefore = isoOf('filter.closed_before', f.closedBefore);
  if (filter.closedAfter && filter.closedBefore && filter.closedAfter >= filter.closedBefore) {
    throw invalid('filter.closed_after must be before filter.closed_before');
  }
  if (f.failureContains.length > 200) throw invalid('filter.failure_contains must be at most 200 characters');
  if (f.failureContains) filter.failureContains = f.failureContains;
  return filter;
}

const digest = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex');

/**
 * The batch's business key: the deployment (its task-queue prefix), the filter as asked (before its upper bound is
 * frozen) and the request id, so a repeat of the same call joins the same batch.
 */
export function batchWorkflowId(prefix: string, filter: FailedProjectionFilter, requestId: string): string {
  const canonical = Object.fromEntries(Object.entries(filter).sort(([a], [b]) => a.localeCompare(b)));
  return `${prefix}replay-failed/${digest(canonical).slice(0, 16)}/${requestId}`;
}

/** A page token names the query it pages, so a token reused with another filter is refused instead of misread. */
function encodeToken(query: string, token: Uint8Array): string {
  return Buffer.from(
    JSON.stringify({ q: digest(query).slice(0, 16), t: Buffer.from(token).toString('base64') }),
  ).toString('base64url');
}

function decodeToken(query: string, pageToken: string): Uint8Array {
  try {
    const { q, t } = JSON.parse(Buffer.from(pageToken, 'base64url').toString('utf8')) as { q: string; t: string };
    if (q === digest(query).slice(0, 16) && typeof t === 'string' && t) return Buffer.from(t, 'base64');
  } catch {
    // Falls through to the refusal.
  }
  throw invalid('page_token is not from a listing with this filter');
}

function toMessage(r: FailedRun): FailedProjectionMessage {
  return {
    workflowId: r.workflowId,
    runId: r.runId,
    workflowType: r.workflowType,
    kind: r.kind,
    postId: r.postId,
    viewerId: r.viewerId,
    state: STATES[r.status],
    failure: r.failure,
    attempts: r.attempts,
    startTime: timestampFromDate(r.startTime),
    ...(r.closeTime ? { closeTime: timestampFromDate(r.closeTime) } : {}),
  };
}

/** Counts the runs a query finds, page by page, as a batch would find them. */
async function countRuns(
  temporal: Client,
  opts: { query: string; failureContains?: string; asOf: Date; stuckAfterMs: number },
): Promise<number> {
  let total = 0;
  let token: Uint8Array | undefined;
  do {
    const page = await failedProjectionPage(temporal, { ...opts, pageSize: 200, token, withFailure: false });
    total += page.runs.length;
    token = page.next ?? undefined;
  } while (token);
  return total;
}

/** A deployment's failed projections: listed, counted, and replayed as one batch. */
export interface FailedProjections {
  list(
    filter: FailedProjectionFilter,
    pageSize: number,
    pageToken: string,
  ): Promise<{ projections: FailedProjectionMessage[]; nextPageToken: string }>;
  /** Failed projections the filter matches now, as a batch would find them. */
  count(filter: FailedProjectionFilter): Promise<number>;
  /** Projections stuck now: running, their activity failing past the bound (the `feedflow_projections_stuck` gauge). */
  countStuck(): Promise<number>;
  /** Starts the batch, or joins the one this filter and request id already named. */
  startBatch(workflowId: string, input: ReplayFailedInput): Promise<boolean>;
}

export function createFailedProjections(
  temporal: Client,
  taskQueuePrefix: string,
  stuckAfterMs: number,
): FailedProjections {
  const queues = [TASK_QUEUES.projection, TASK_QUEUES.priority].map((q) => taskQueuePrefix + q);
  const asOf = (filter: FailedProjectionFilter) => new Date(filter.closedBefore ?? Date.now());

  return {
    async list(filter: FailedProjectionFilter, pageSize: number, pageToken: string) {
      const query = failedProjectionQuery(filter, queues);
      const page = await failedProjectionPage(temporal, {
        query,
        pageSize,
        token: pageToken ? decodeToken(query, pageToken) : undefined,
        failureContains: filter.failureContains,
        withFailure: true,
        asOf: asOf(filter),
        stuckAfterMs,
      });
      return {
        projections: page.runs.map(toMessage),
        nextPageToken: page.next ? encodeToken(query, page.next) : '',
      };
    },

    async count(filter: FailedProjectionFilter): Promise<number> {
      return countRuns(temporal, {
        query: failedProjectionQuery(filter, queues),
        failureContains: filter.failureContains,
        asOf: asOf(filter),
        stuckAfterMs,
      });
    },

    async countStuck(): Promise<number> {
      const asOf = new Date();
      const query = runningProjectionQuery(queues, new Date(asOf.getTime() - stuckAfterMs).toISOString());
      return countRuns(temporal, { query, asOf, stuckAfterMs });
    },

    async startBatch(workflowId: string, input: ReplayFailedInput): Promise<boolean> {
      const { filter } = input;
      try {
        await temporal.workflow.start(replayFailedProjectionsWorkflow, {
          taskQueue: taskQueuePrefix + TASK_QUEUES.projection,
          workflowId,
          args: [input],
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          memo: { filter },
          typedSearchAttributes: [
            { key: SEARCH_ATTRIBUTES.feedOperation, value: 'replay-failed' },
            ...(filter.postId ? [{ key: SEARCH_ATTRIBUTES.postId, value: filter.postId }] : []),
            ...(filter.viewerId ? [{ key: SEARCH_ATTRIBUTES.viewerId, value: filter.viewerId }] : []),
          ],
        });
        return true;
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
        throw err;
      }
    },
  };
}
