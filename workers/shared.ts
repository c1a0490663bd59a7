import { NativeConnection, Worker } from '@temporalio/worker';
import type { Db } from 'mongodb';
import type { Driver } from 'neo4j-driver';
import { loadConfig } from '../lib/config';
import { connectGraph, connectMongo } from '../lib/clients';
import { createLogger } from '../lib/logger';
import { createProjectionActivities } from '../activities';
import { createGraph } from '../stores/graph';
import { ensureReadModelIndexes } from '../stores/read-model';
import { TASK_QUEUES, type TaskQueueName } from '../workflows/shared';

/**
 * Runs one projection worker on a queue: builds the clients once, registers the projection activities (plus any
 * extra ones), runs until shut down, and closes the clients.
 */
export async function runProjectionWorker(
  name: string,
  queue: TaskQueueName,
  extraActivities: (deps: { db: Db; driver: Driver }) => object = () => ({}),
): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(name, config.LOG_LEVEL);
  const { mongo, db } = await connectMongo(config);
  const driver = connectGraph(config);
  const graph = createGraph(driver, config.GRAPH_DIALECT);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    await Promise.all([ensureReadModelIndexes(db), graph.ensureSchema()]);
    const taskQueue = config.TASK_QUEUE_PREFIX + TASK_QUEUES[queue];
    const worker = await Worker.create({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue,
      workflowsPath: require.resolve('../workflows'),
      activities: { ...extraActivities({ db, driver }), ...createProjectionActivities({ db, graph, config, logger }) },
    });
    logger.info({ taskQueue, pid: process.pid }, 'worker started');
    await worker.run();
  } finally {
    await connection.close();
    await driver.close();
    await mongo.close();
  }
}

export function exitOnFailure(run: Promise<void>): void {
  run.catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
