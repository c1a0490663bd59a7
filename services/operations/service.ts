import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { ServiceImpl } from '@connectrpc/connect';
import { type Client, WorkflowExecutionAlreadyStartedError, type WorkflowHandle } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import type { Db } from 'mongodb';
import { DomainError, invalid, notFound } from '../../domain/errors';
import { isEventId } from '../../domain/events';
import type { CheckScope as Scope, ConsistencyReport } from '../../domain/findings';
import { OPERATOR_ID, requireId } from '../../domain/ids';
import {
  CheckScope,
  type ConsistencyReport as ReportMessage,
  OperationState,
  type OperationsService,
} from '../../gen/feedflow/v1/operations_pb';
import type { Config } from '../../lib/config';
import type { ConsistencyCheckInput, RebuildFeedResult } from '../../pipeline/contracts/operations';
import { TASK_QUEUES } from '../../pipeline/queues';
import { type FeedOperation, PROJECTION_KINDS } from '../../pipeline/routing';
import { SEARCH_ATTRIBUTES } from '../../pipeline/search-attributes';
import { reportsOf, type ReportDoc } from '../../stores/consistency-reports';
import { projectionLag } from '../../stores/projection-lag';
import { readModel, type ReadModel } from '../../stores/read-model';
import { writeModel, type WriteModel } from '../../stores/write-model';
import { consistencyCheckWorkflow, rebuildFeedWorkflow, replayFanoutWorkflow } from '../../workflows';
import { batchWorkflowId, createFailedProjections, type FailedProjections, filterOf } from './failed';
import { createOperationReader, type OperationReader, type OperationView, waitBudgetMs } from './runs';
import { createScheduleControls, noteOf, type ScheduleControls, shared, STATUS_TTL_MS } from './schedules';
import { createSearchOperations, type SearchOperations } from './search';

export interface OperationsServiceDeps {
  db: Db;
  temporal: Client;
  config: Pick<
    Config,
    | 'TASK_QUEUE_PREFIX'
    | 'STUCK_PROJECTION_AFTER_MS'
    | 'CONSISTENCY_RECENT_WINDOW_MS'
    | 'CONSISTENCY_SETTLE_MS'
    | 'CONSISTENCY_SCORE_WINDOW_MS'
    | 'CONSISTENCY_DEEP_SAMPLE'
  >;
}

const KINDS = [...PROJECTION_KINDS, 'pull-transition', 'consistency', 'replay', 'rebuild', 'replay-failed'];

const scopeOf = (s: CheckScope): Scope | undefined =>
  s === CheckScope.RECENT ? 'recent' : s === CheckScope.DEEP ? 'deep' : undefined;

function toMessage(r: ConsistencyReport): Omit<ReportMessage, '$typeName' | '$unknown'> {
  return {
    workflowId: r.workflowId,
    scope: r.scope === 'recent' ? CheckScope.RECENT : CheckScope.DEEP,
    startedAt: timestampFromDate(new Date(r.startedAt)),
    finishedAt: timestampFromDate(new Date(r.finishedAt)),
    eventsChecked: r.eventsChecked,
    membersChecked: r.membersChecked,
    counts: r.counts.map((c) => ({ ...c })) as ReportMessage['counts'],
    samples: r.samples.map((f) => ({ ...f })) as ReportMessage['samples'],
    found: r.found,
    repaired: r.repaired,
    failed: r.failed,
  };
}

type Impl = ServiceImpl<typeof OperationsService>;

/** What the operations RPCs share: the stores, the client, and the readers over Temporal. */
interface OperationsContext extends OperationsServiceDeps {
  wm: WriteModel;
  rm: ReadModel;
  /** The projection queue of this deployment. */
  taskQueue: string;
  runs: OperationReader;
  failed: FailedProjections;
  schedules: ScheduleControls;
}

/**
 * Starts a workflow, or joins the running one of the same id. It carries its FeedOperation (and post or viewer)
 * from the start, so GetOperation and the UI name its kind before a worker has picked it up.
 */
async function startOrJoin<W extends Workflow>(
  { temporal, taskQueue }: Pick<OperationsContext, 'temporal' | 'taskQueue'>,
  workflow: W,
  workflowId: string,
  args: Parameters<W>,
  kind: FeedOperation,
  ids: { postId?: string; viewerId?: string },
): Promise<{ handle: WorkflowHandle; started: boolean }> {
  try {
    return {
      // Checked at this function's signature: the SDK's options type cannot be resolved over an open W.
      handle: await temporal.workflow.start<Workflow>(workflow, {
        taskQueue,
        workflowId,
        args,
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTES.feedOperation, value: kind },
          ...(ids.postId ? [{ key: SEARCH_ATTRIBUTES.postId, value: ids.postId }] : []),
          ...(ids.viewerId ? [{ key: SEARCH_ATTRIBUTES.viewerId, value: ids.viewerId }] : []),
        ],
      }),
      started: true,
    };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return { handle: temporal.workflow.getHandle(workflowId), started: false };
  }
}

/** Running operations by kind, counted in visibility; shared by parallel callers for STATUS_TTL_MS. */
function runningByKind(temporal: Client, prefix: string): { get(): Promise<Record<string, number>> } {
  const queues = Object.values(TASK_QUEUES)
    .map((q) => `TaskQueue = "${prefix}${q}"`)
    .join(' OR ');
  return shared(async () => {
    const counts = await Promise.all(
      KINDS.map(async (kind) => {
        const query = `ExecutionStatus = "Running" AND FeedOperation = "${kind}" AND (${queues})`;
        return [kind, (await temporal.workflow.count(query)).count] as const;
      }),
    );
    return Object.fromEntries(counts.filter(([, count]) => count > 0));
  }, STATUS_TTL_MS);
}

const closedBadly = (view: OperationView): boolean =>
  view.operation.state !== OperationState.COMPLETED && view.operation.state !== OperationState.RUNNING;

/** Replays and rebuilds: one post's fan-out again, one member's feed from the truth. */
function replayRpcs(ops: OperationsContext): Pick<Impl, 'replayFanout' | 'rebuildFeed'> {
  const { wm, config, runs } = ops;
  return {
    /** Starts (or joins) the replay of the post's latest version; with `wait`, answers when it is done. */
    async replayFanout(req, ctx) {
      const postId = requireId(req.postId, 'post_id', OPERATOR_ID);
      const post = await wm.posts.findOne({ _id: postId }, { projection: { version: 1 } });
      if (!post) throw notFound(`post ${postId} does not exist`);
      const workflowId = `${config.TASK_QUEUE_PREFIX}replay/post/${postId}/v${post.version}`;
      const { started } = await startOrJoin(ops, replayFanoutWorkflow, workflowId, [{ postId }], 'replay', { postId });
      const view = req.wait
        ? await runs.waitFor(workflowId, waitBudgetMs(ctx, req.waitSeconds), ctx.signal)
        : await runs.describe(workflowId);
      return { workflowId, version: post.version, started, operation: view.operation };
    },

    /** Rebuilds the member's feed and waits for the rebuild (within the deadline), unless no_wait. */
    async rebuildFeed(req, ctx) {
      const userId = requireId(req.userId, 'user_id', OPERATOR_ID);
      const user = await wm.users.findOne({ _id: userId }, { projection: { _id: 1 } });
      if (!user) throw notFound(`member ${userId} does not exist`);
      const workflowId = `${config.TASK_QUEUE_PREFIX}rebuild/feed/${userId}`;
      await startOrJoin(ops, rebuildFeedWorkflow, workflowId, [{ viewerId: userId }], 'rebuild', {
        viewerId: userId,
      });
      const view = req.noWait
        ? await runs.describe(workflowId)
        : await runs.waitFor(workflowId, waitBudgetMs(ctx, req.waitSeconds), ctx.signal);
      if (closedBadly(view)) throw new DomainError('unavailable', `rebuild ${workflowId}: ${view.operation.error}`);
      const result = view.result as RebuildFeedResult | undefined;
      return {
        workflowId,
        ...(result
          ? {
              items: result.items,
              written: result.written,
              removed: result.removed,
              pulledItems: result.pulled ?? 0,
              discoveryItems: result.discovery ?? 0,
            }
          : {}),
        operation: view.operation,
      };
    },
  };
}

/** Consistency checks on demand and their reports. */
function checkRpcs(ops: OperationsContext): Pick<Impl, 'runConsistencyCheck' | 'getConsistencyReport'> {
  const { db, temporal, config, taskQueue, runs } = ops;
  return {
    /** Runs a check now, with its repairs; waits for the report (within the deadline) unless no_wait. */
    async runConsistencyCheck(req, ctx) {
      const scope = scopeOf(req.scope);
      if (!scope) throw invalid('scope must be CHECK_SCOPE_RECENT or CHECK_SCOPE_DEEP');
      if (req.windowSeconds > 86_400) throw invalid('window_seconds must be at most 86400 (1 day)');
      if (req.sampleSize > 10_000) throw invalid('sample_size must be at most 10000');
      const input: ConsistencyCheckInput = {
        scope,
        windowMs: req.windowSeconds ? req.windowSeconds * 1000 : config.CONSISTENCY_RECENT_WINDOW_MS,
        settleMs: config.CONSISTENCY_SETTLE_MS,
        scoreWindowMs: config.CONSISTENCY_SCORE_WINDOW_MS,
        sample: req.sampleSize || config.CONSISTENCY_DEEP_SAMPLE,
      };
      const workflowId = `consistency/${scope}/manual-${Date.now()}`;
      const handle = await temporal.workflow.start(consistencyCheckWorkflow, {
        taskQueue,
        workflowId,
        args: [input],
        typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.feedOperation, value: 'consistency' }],
      });
      if (req.noWait) return { workflowId, operation: (await runs.describe(handle.workflowId)).operation };
      const view = await runs.waitFor(workflowId, waitBudgetMs(ctx, req.waitSeconds), ctx.signal);
      const { operation } = view;
      if (operation.state === OperationState.COMPLETED) {
        return { workflowId, report: toMessage(view.result as ConsistencyReport), operation };
      }
      if (operation.state === OperationState.RUNNING) return { workflowId, operation };
      // A check whose repairs failed still has its report: return it, failures counted.
      const stored = await reportsOf(db).findOne({ workflowId });
      if (stored) return { workflowId, report: toMessage(stored), operation };
      throw new DomainError('unavailable', `check ${workflowId}: ${operation.error}`);
    },

    /** The latest reports, newest first. */
    async getConsistencyReport(req) {
      const limit = req.limit || 10;
      if (limit > 50) throw invalid('limit must be 1 to 50');
      const scope = scopeOf(req.scope);
      const docs: ReportDoc[] = await reportsOf(db)
        .find(scope ? { scope } : {})
        .sort({ at: -1 })
        .limit(limit)
        .toArray();
      return { reports: docs.map(toMessage) };
    },
  };
}

/** The pipeline's state, its schedules, one operation, and the failed projections with their batch replay. */
function statusRpcs(
  ops: OperationsContext,
): Omit<
  Impl,
  'replayFanout' | 'rebuildFeed' | 'runConsistencyCheck' | 'getConsistencyReport' | keyof SearchOperations
> {
  const { wm, rm, config, runs, failed, schedules } = ops;
  const running = runningByKind(ops.temporal, config.TASK_QUEUE_PREFIX);
  return {
    /** Pending outbox events, running projection workflows by kind, recent lag and the schedules. */
    async getProjectionStatus(req) {
      const windowMs = (req.windowSeconds || 300) * 1000;
      if (req.windowSeconds > 86_400) throw invalid('window_seconds must be at most 86400 (1 day)');
      // Temporal's answers are shared by parallel callers and serve for STATUS_TTL_MS.
      const [outboxPending, lag, runningByKind, states] = await Promise.all([
        wm.events.countDocuments({ status: 'pending' }),
        projectionLag(rm, { since: new Date(Date.now() - windowMs), limit: 100_000 }),
        running.get(),
        schedules.states(),
      ]);
      return {
        outboxPending,
        runningByKind,
        lagP50Ms: lag.count ? lag.p50 : 0,
        lagP99Ms: lag.count ? lag.p99 : 0,
        lagSamples: lag.count,
        schedules: states,
      };
    },

    /** Pauses every feedflow schedule, with the note. */
    async pauseSchedules(req) {
      return { schedules: await schedules.pause(noteOf(req.note, 'paused through OperationsService')) };
    },

    /** The operation's state, items written, error and times, from its latest run. */
    async getOperation(req) {
      // An event id (from a command's receipt) names its projection: the workflow id stored on the event.
      const event = isEventId(req.workflowId)
        ? await wm.events.findOne({ _id: req.workflowId }, { projection: { workflowId: 1 } })
        : null;
      return { operation: (await runs.describe(event?.workflowId ?? req.workflowId, req.runId)).operation };
    },

    /** One page of the failed projections the filter matches, newest first. */
    async listFailedProjections(req) {
      const pageSize = req.pageSize || 20;
      if (pageSize > 100) throw invalid('page_size must be 1 to 100');
      return failed.list(filterOf(req.filter), pageSize, req.pageToken);
    },

    /** Counts (dry run) or replays, as one batch workflow, the failed projections the filter matches. */
    async replayFailedProjections(req, ctx) {
      const filter = filterOf(req.filter);
      const ratePerSecond = req.ratePerSecond || 10;
      const maxConcurrent = req.maxConcurrent || 5;
      if (ratePerSecond > 100) throw invalid('rate_per_second must be 1 to 100');
      if (maxConcurrent > 50) throw invalid('max_concurrent must be 1 to 50');
      // The batch covers failures up to now: its own replays that fail again are never in its scope.
      const now = new Date().toISOString();
      const frozen = {
        ...filter,
        closedBefore: filter.closedBefore && filter.closedBefore < now ? filter.closedBefore : now,
      };
      if (req.dryRun) return { workflowId: '', started: false, matched: await failed.count(frozen) };
      const requestId = requireId(req.requestId, 'request_id', OPERATOR_ID);
      const workflowId = batchWorkflowId(config.TASK_QUEUE_PREFIX, filter, requestId);
      const started = await failed.startBatch(workflowId, { filter: frozen, ratePerSecond, maxConcurrent });
      const view = req.wait
        ? await runs.waitFor(workflowId, waitBudgetMs(ctx, req.waitSeconds), ctx.signal)
        : await runs.describe(workflowId);
      return { workflowId, started, matched: view.operation.batch?.matched ?? 0, operation: view.operation };
    },

    /** Resumes every feedflow schedule. */
    async resumeSchedules(req) {
      return { schedules: await schedules.resume(noteOf(req.note, 'resumed through OperationsService')) };
    },
  };
}

/** feedflow.v1.OperationsService: the operator's replay, rebuild, check and schedule controls over Temporal. */
export function createOperationsService(deps: OperationsServiceDeps): Impl {
  const { db, temporal, config } = deps;
  const runs = createOperationReader(temporal, config.TASK_QUEUE_PREFIX);
  const ops: OperationsContext = {
    ...deps,
    wm: writeModel(db),
    rm: readModel(db),
    taskQueue: config.TASK_QUEUE_PREFIX + TASK_QUEUES.projection,
    runs,
    failed: createFailedProjections(temporal, config.TASK_QUEUE_PREFIX, config.STUCK_PROJECTION_AFTER_MS),
    schedules: createScheduleControls(temporal, config.TASK_QUEUE_PREFIX),
  };
  return {
    ...createSearchOperations({ temporal, config, runs }),
    ...replayRpcs(ops),
    ...checkRpcs(ops),
    ...statusRpcs(ops),
  };
}
