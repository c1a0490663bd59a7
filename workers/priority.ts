import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../lib/config';
import { connectGraph, connectMongo } from '../lib/clients';
import { createLogger } from '../lib/logger';
import { createProjectionActivities } from '../activities';
import { createGraph } from '../stores/graph';
import { ensureReadModelIndexes } from '../stores/read-model';
import { TASK_QUEUES } from '../workflows/shared';

/** The priority worker: deletes and purges, on their own queue so a large fan-out never delays them. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('worker-priority', config.LOG_LEVEL);
  const { mongo, db } = await connectMongo(config);
  const driver = connectGraph(config);
  const graph = createGraph(driver, config.GRAPH_DIALECT);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    await Promise.all([ensureReadModelIndexes(db), graph.ensureSchema()]);
    const taskQueue = config.TASK_QUEUE_PREFIX + TASK_QUEUES.priority;
    const worker = await Worker.create({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue,
      workflowsPath: require.resolve('../workflows'),
      activities: createProjectionActivities({ db, graph, config, logger }),
    });
    logger.info({ taskQueue, pid: process.pid }, 'worker started');
    await worker.run();
  } finally {
    await connection.close();
    await driver.close();
    await mongo.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
