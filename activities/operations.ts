import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Db } from 'mongodb';
import { eventIdOfWorkflowId } from '../domain/events';
import type { ConsistencyReport } from '../domain/findings';
import { createOutbox, type OutboxDeps, projectionStart } from '../handoff/index';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { metrics } from '../lib/metrics';
import type {
  ProjectionRestart,
  FailedProjectionFilter,
  FailedProjectionPage,
  OutboxSweepResult,
} from '../pipeline/contracts/operations';
import { TASK_QUEUES } from '../pipeline/queues';
import { reportsOf } from '../stores/consistency-reports';
import { failedProjectionPage, failedProjectionQuery } from '../stores/workflow-runs';
import { writeModel } from '../stores/write-model';

export interface OperationsDeps {
  db: Db;
  temporal: Client;
  config: OutboxDeps['config'] & Pick<Config, 'STUCK_PROJECTION_AFTER_MS'>;
  logger: Logger;
}

/** The activities of createOperationsActivities, as workflows proxy them. */
export interface OperationsActivities {
  failedProjectionRestarts(input: {
    filter: FailedProjectionFilter;
    pageToken?: string;
    pageSize: number;
  }): Promise<FailedProjectionPage>;
  sweepOutbox(input: { olderThanMs: number }): Promise<OutboxSweepResult>;
  saveReport(input: { id: string; report: ConsistencyReport }): Promise<void>;
}

/** The operations side of the pipeline: the scheduled outbox sweep, and the record of consistency checks. */
export function createOperationsActivities({ db, temporal, config, logger }: OperationsDeps): OperationsActivities {
  const wm = writeModel(db);
  const outbox = createOutbox({ wm, temporal, config, logger });
  const queues = [TASK_QUEUES.projection, TASK_QUEUES.priority].map((q) => config.TASK_QUEUE_PREFIX + q);
  const terminateStuck = async (workflowId: string, runId: string) => {
    try {
      await temporal.workflow.getHandle(workflowId, runId).terminate('stuck: replayed by ReplayFailedProjections');
    } catch (err) {
      // Closed since it was listed (completed, or terminated by a retry of this page): nothing to stop.
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  };
  return {
    /**
     * One page of the failed projections the filter matches, as restarts read from their events (the commit point),
     * so a batch starts each exactly as the command side first did. A stuck run (running, its activity failing past
     * the bound as of the batch's frozen `closedBefore`) holds its id, so it is terminated here first, that run only;
     * its replay then starts over it like over any failed run, and its writes so far are idempotent. A run that
     * completes meanwhile is left alone and its replay is skipped.
     */
    async failedProjectionRestarts(input: {
      filter: FailedProjectionFilter;
      pageToken?: string;
      pageSize: number;
    }): Promise<FailedProjectionPage> {
      const page = await failedProjectionPage(temporal, {
        query: failedProjectionQuery(input.filter, queues),
        pageSize: input.pageSize,
        token: input.pageToken ? Buffer.from(input.pageToken, 'base64') : undefined,
        failureContains: input.filter.failureContains,
        withFailure: false,
        asOf: new Date(input.filter.closedBefore ?? Date.now()),
        stuckAfterMs: config.STUCK_PROJECTION_AFTER_MS,
      });
      await Promise.all(
        page.runs.filter((r) => r.status === 'RUNNING').map((r) => terminateStuck(r.workflowId, r.runId)),
      );
      // Point reads: an `_id` equality is the one filter every supported store pushes down.
      const events = await Promise.all(
        page.runs.map((r) => {
          const eventId = eventIdOfWorkflowId(config.TASK_QUEUE_PREFIX, r.workflowId);
          return eventId ? wm.events.findOne({ _id: eventId }) : null;
        }),
      );
      const restarts = events.map((ev) => ev && projectionStart(ev, config)).filter((r): r is ProjectionRestart => !!r);
      return {
        restarts,
        unreplayable: page.runs.length - restarts.length,
        next: page.next ? Buffer.from(page.next).toString('base64') : null,
      };
    },

    /** Completes every event still pending after `olderThanMs`: applies it and starts its projection. */
    async sweepOutbox(input: { olderThanMs: number }): Promise<OutboxSweepResult> {
      return { started: await outbox.sweep(input.olderThanMs) };
    },

    /** Records a check's report (idempotently, by workflow run) and counts its findings and repairs. */
    async saveReport(input: { id: string; report: ConsistencyReport }): Promise<void> {
      try {
        await reportsOf(db).insertOne({ ...input.report, _id: input.id, at: new Date(input.report.finishedAt) });
      } catch (err) {
        // A retried save of the same run: recorded and counted already.
        if ((err as { code?: number }).code === 11000) return;
        throw err;
      }
      for (const c of input.report.counts) {
        if (c.found) metrics.consistencyFindings.inc({ kind: c.kind }, c.found);
        if (c.repaired) metrics.repairs.inc({ result: 'repaired' }, c.repaired);
        if (c.failed) {
          metrics.repairs.inc({ result: 'failed' }, c.failed);
          metrics.repairFailures.inc({ kind: c.kind }, c.failed);
        }
      }
      const log = input.report.failed ? logger.error.bind(logger) : logger.info.bind(logger);
      log(
        {
          workflowId: input.report.workflowId,
          scope: input.report.scope,
          found: input.report.found,
          repaired: input.report.repaired,
          failed: input.report.failed,
        },
        'consistency check finished',
      );
    },
  };
}
