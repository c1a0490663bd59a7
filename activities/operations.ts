import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { metrics } from '../lib/metrics';
import { createOutbox } from '../services/command/outbox';
import { reportsOf } from '../stores/consistency-reports';
import { writeModel } from '../stores/write-model';
import type { ConsistencyReport, OutboxSweepResult } from '../workflows/shared';

export interface OperationsDeps {
  db: Db;
  temporal: Client;
  config: Pick<Config, 'TASK_QUEUE_PREFIX' | 'FAULT_INJECTION'>;
  logger: Logger;
}

/** The operations side of the pipeline: the scheduled outbox sweep, and the record of consistency checks. */
export function createOperationsActivities({ db, temporal, config, logger }: OperationsDeps) {
  const outbox = createOutbox({ wm: writeModel(db), temporal, config, logger });
  return {
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
