import type { Client } from '@temporalio/client';
import { type NativeConnection, Worker } from '@temporalio/worker';
import { createProjectionActivities, type ProjectionDeps } from '../../activities';
import { createOperationsActivities } from '../../activities/operations';
import { createLogger } from '../../lib/logger';
import { TASK_QUEUES } from '../../pipeline/queues';
import { createGraph, type Graph } from '../../stores/graph';
import { ensureReadModelIndexes } from '../../stores/read-model';
import { workflowBundle } from './bundle';
import type { TestStores } from './env';

/** In-process workers for a test, on the process's one workflow bundle. */

export interface RunningWorkers {
  stop(): Promise<void>;
}

/** Runs one worker per given task queue in this process until `stop()`. */
export async function runWorkers(
  connection: NativeConnection,
  namespace: string,
  taskQueues: string[],
  activities: object,
): Promise<RunningWorkers> {
  const bundled = await workflowBundle();
  const workers = await Promise.all(
    taskQueues.map((taskQueue) =>
      Worker.create({ connection, namespace, taskQueue, workflowBundle: bundled, activities, maxCachedWorkflows: 100 }),
    ),
  );
  const running = workers.map((w) => w.run());
  return {
    async stop() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.all(running);
    },
  };
}

/** Both projection queues under a prefix, with the real activities over the test's stores. */
export async function runProjectionWorkers(
  connection: NativeConnection,
  stores: TestStores,
  prefix: string,
  config: Partial<ProjectionDeps['config']> = {},
  /** Given a client, the operations activities (outbox sweep, check reports) are registered too. */
  temporal?: Client,
): Promise<RunningWorkers & { graph: Graph }> {
  const graph = createGraph(stores.graph, stores.config.GRAPH_DIALECT);
  await Promise.all([ensureReadModelIndexes(stores.db), graph.ensureSchema()]);
  const logger = createLogger('projection-test', 'silent');
  const activities = {
    ...createProjectionActivities({ db: stores.db, graph, config: { ...stores.config, ...config }, logger }),
    ...(temporal ? createOperationsActivities({ db: stores.db, temporal, config: stores.config, logger }) : {}),
  };
  const queues = [prefix + TASK_QUEUES.projection, prefix + TASK_QUEUES.priority];
  const workers = await runWorkers(connection, stores.config.TEMPORAL_NAMESPACE, queues, activities);
  return { ...workers, graph };
}
