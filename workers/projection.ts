import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../lib/config';
import { connectGraph, connectMongo } from '../lib/clients';
import { createLogger } from '../lib/logger';
import { createProjectionActivities } from '../activities';
import { createSystemActivities } from '../activities/system';
import { createGraph } from '../stores/graph';
import { ensureReadModelIndexes } from '../stores/read-model';
import { TASK_QUEUES } from '../workflows/shared';

/** The projection worker: fan-out, update, backfill, profile and engagement workflows and their activities. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('worker-projection', config.LOG_LEVEL);
  const { mongo, db } = await connectMongo(config);
  const driver = connectGraph(config);
  const graph = createGraph(driver, config.GRAPH_DIALECT);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    await Promise.all([ensureReadModelIndexes(db), graph.ensureSchema()]);
    const taskQueue = config.TASK_QUEUE_PREFIX + TASK_QUEUES.projection;
    const worker = await Worker.create({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue,
      workflowsPath: require.resolve('../workflows'),
      activities: {
        ...createSystemActivities({ db, graph: driver }),
        ...createProjectionActivities({ db, graph, config, logger }),
      },
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
