/**
 * The trivial workflows `npm run bench:temporal` runs: each costs only Temporal's own round trips, so their rates
 * are the ceiling any projection workflow of the same shape can reach on the same server.
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';

/** The one activity the shapes call: it hands its input back. */
export interface BenchActivities {
  benchEcho(n: number): Promise<number>;
}

const remote = proxyActivities<BenchActivities>({ startToCloseTimeout: '10 seconds' });
const local = proxyLocalActivities<BenchActivities>({ startToCloseTimeout: '10 seconds' });

/** One workflow task, no activity. */
export async function benchEmptyWorkflow(n: number): Promise<number> {
  return n;
}

/** One local activity inside the first workflow task. */
export async function benchLocalActivityWorkflow(n: number): Promise<number> {
  return local.benchEcho(n);
}

/** One activity: a second workflow task once it completes. */
export async function benchActivityWorkflow(n: number): Promise<number> {
  return remote.benchEcho(n);
}

/** Three activities one after another: four workflow tasks. */
export async function benchThreeActivitiesWorkflow(n: number): Promise<number> {
  let x = n;
  for (let i = 0; i < 3; i++) x = await remote.benchEcho(x);
  return x;
}
