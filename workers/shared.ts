import type { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Db } from 'mongodb';
import type { Driver } from 'neo4j-driver';
import { createProjectionActivities } from '../activities';
import { createOperationsActivities } from '../activities/operations';
import { connectGraph, connectMongo, connectTemporal } from '../lib/clients';
import { loadConfig, type Config } from '../lib/config';
import { createLogger, type Logger } from '../lib/logger';
import { startMetricsServer } from '../lib/metrics';
import { TASK_QUEUES, type TaskQueueName } from '../pipeline/queues';
import { closeFeedCacheWriter } from '../stores/feed-cache';
import { createGraph } from '../stores/graph';
import { ensureQueryIndexes } from '../stores/pushdown';
import { ensureReadModelIndexes } from '../stores/read-model';
import { loadWorkflowBundle } from './bundle';
import { activityInterceptors, installRuntimeLogger } from './observability';
import { ensureSchedules } from './schedules';

/** Each queue's worker serves /metrics on its own port. */
const METRICS_PORTS = {
  projection: 'PROJECTION_WORKER_METRICS_PORT',
  priority: 'PRIORITY_WORKER_METRICS_PORT',
  ranking: 'RANKING_WORKER_METRICS_PORT',
  search: 'SEARCH_WORKER_METRICS_PORT',
} as const satisfies Record<TaskQueueName, keyof Config>;

/** What one queue's worker adds to the common start-up. */
export interface QueueWorker {
  /** Prepares the stores before the worker polls; idempotent, so workers can start in any order. */
  prepare(): Promise<void>;
  activities: object;
  /** Runs once the worker exists (its schedules). */
  afterCreate(): Promise<void>;
  /** Extra fields for the 'worker started' line. */
  logFields?: Record<string, unknown>;
  /** Closes the queue's own clients once the worker has stopped. */
  close(): Promise<void>;
}

/**
 * Runs one worker on a queue: builds the common clients once, lets `open` add the queue's own (clients that do
 * not connect until first used), runs until shut down, and closes them all.
 */
export async function runQueueWorker(
  name: string,
  queue: TaskQueueName,
  open: (deps: { config: Config; logger: Logger; db: Db; temporal: Client }) => QueueWorker,
): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(name, config.LOG_LEVEL);
  installRuntimeLogger(logger);
  // Before anything connects: a bundle older than the workflow sources stops the process here, naming the file.
  const workflowBundle = await loadWorkflowBundle();
  const { mongo, db } = await connectMongo(config);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const temporal = await connectTemporal(config);
  const own = open({ config, logger, db, temporal });
  const metricsServer = await startMetricsServer(config[METRICS_PORTS[queue]], config.METRICS_HOST);
  try {
    await own.prepare();
    const taskQueue = config.TASK_QUEUE_PREFIX + TASK_QUEUES[queue];
    const worker = await Worker.create({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue,
      workflowBundle,
      activities: own.activities,
      interceptors: { activity: [activityInterceptors(logger)] },
    });
    await own.afterCreate();
    logger.info(
      {
        taskQueue,
        ...own.logFields,
        pid: process.pid,
        metricsPort: metricsServer.port,
        workflowBundle: workflowBundle.sha256,
      },
      'worker started',
    );
    await worker.run();
  } finally {
    await metricsServer.close();
    await connection.close();
    await temporal.connection.close();
    await own.close();
    await mongo.close();
    // The feed cache's writer connection, opened by the first invalidation; open, it keeps the process alive.
    await closeFeedCacheWriter();
  }
}

/** Runs one projection worker on a queue: the projection activities (plus any extra ones), on the graph. */
export async function runProjectionWorker(
  name: string,
  queue: TaskQueueName,
  extraActivities: (deps: { db: Db; driver: Driver }) => object = () => ({}),
): Promise<void> {
  await runQueueWorker(name, queue, ({ config, logger, db, temporal }) => {
    const driver = connectGraph(config);
    const graph = createGraph(driver, config.GRAPH_DIALECT);
    return {
      // Every worker prepares the stores, so a fresh stack is ready whichever starts first; both are idempotent
      // and safe to run concurrently.
      async prepare() {
        const t0 = performance.now();
        await Promise.all([ensureReadModelIndexes(db), graph.ensureSchema()]);
        await ensureQueryIndexes(db, config);
        logger.info({ ms: Math.round(performance.now() - t0) }, 'stores ready');
      },
      activities: {
        ...extraActivities({ db, driver }),
        ...createProjectionActivities({ db, graph, config, logger }),
        ...createOperationsActivities({ db, temporal, config, logger }),
      },
      // The projection queue runs the scheduled checks and sweeps, so its worker owns their schedules.
      async afterCreate() {
        if (queue === 'projection' && config.SCHEDULES_ENABLED) await ensureSchedules(temporal, config, logger);
      },
      close: () => driver.close(),
    };
  });
}
