import { Client } from '@temporalio/client';
import { type NativeConnection, Worker } from '@temporalio/worker';
import type { Db } from 'mongodb';
import { createProjectionActivities } from '../activities';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { TASK_QUEUES } from '../pipeline/queues';
import type { Graph } from '../stores/graph';
import { loadWorkflowBundle } from './bundle';
import { activityInterceptors } from './observability';

export interface FirstHop {
  /** A client over the workers' connection: its projection starts are eager. */
  client: Client;
  stop(): Promise<void>;
}

/**
 * The first hop of every projection, in the process that starts it. A start that asks for eager execution gets the
 * run's first workflow task back in its own response when a worker of that queue shares the client's connection;
 * the small projections finish inside that task with local activities, so a post reaches a 500-member audience
 * with one start and one task completion, and no task queue dispatch in between. These workers run workflow tasks
 * and local activities only (`enableNonLocalActivities: false`): slices and other heartbeating activities stay
 * with the projection workers.
 */
export async function startFirstHopWorkers(deps: {
  connection: NativeConnection;
  config: Config;
  db: Db;
  graph: Graph;
  logger: Logger;
}): Promise<FirstHop> {
  const { connection, config, db, graph, logger } = deps;
  const workflowBundle = await loadWorkflowBundle();
  const activities = createProjectionActivities({ db, graph, config, logger });
  const workers = await Promise.all(
    [TASK_QUEUES.projection, TASK_QUEUES.priority].map((queue) =>
      Worker.create({
        connection,
        namespace: config.TEMPORAL_NAMESPACE,
        taskQueue: config.TASK_QUEUE_PREFIX + queue,
        workflowBundle,
        activities,
        enableNonLocalActivities: false,
        interceptors: { activity: [activityInterceptors(logger)] },
      }),
    ),
  );
  const running = workers.map((w) => w.run());
  logger.info(
    { queues: workers.map((w) => w.options.taskQueue), workflowBundle: workflowBundle.sha256 },
    'first-hop workers started',
  );
  return {
    client: new Client({ connection, namespace: config.TEMPORAL_NAMESPACE }),
    async stop() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.all(running);
    },
  };
}
