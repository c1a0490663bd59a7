import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { createSystemActivities } from '../activities/system';
import type { PingInput, PingResult } from '../pipeline/contracts/operations';

const { pingStores } = proxyActivities<ReturnType<typeof createSystemActivities>>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 5 },
});

/** Proves the pipeline end to end: a worker picks it up and its activity reaches MongoDB and the graph. */
export async function pingWorkflow(input: PingInput): Promise<PingResult> {
  if (!input?.message) throw ApplicationFailure.nonRetryable('message is required', 'InvalidInput');
  return await pingStores(input.message);
}
