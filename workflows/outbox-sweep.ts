import { proxyActivities } from '@temporalio/workflow';
import type { createOperationsActivities } from '../activities/operations';
import type { OutboxSweepResult } from '../pipeline/contracts/operations';
import { ensureSearchAttributes } from './helpers';

const { sweepOutbox } = proxyActivities<ReturnType<typeof createOperationsActivities>>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
});

/**
 * Run by the outbox schedule: every event accepted more than `olderThanMs` ago and still pending (its command
 * handler died between commit and hand-off) is applied and its projection started.
 */
export async function outboxSweepWorkflow(input: { olderThanMs: number }): Promise<OutboxSweepResult> {
  ensureSearchAttributes('outbox', {});
  return sweepOutbox({ olderThanMs: input?.olderThanMs ?? 10_000 });
}
