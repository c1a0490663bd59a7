import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../lib/config';
import { connectGraph, connectMongo } from '../lib/clients';
import { createLogger } from '../lib/logger';
import { createSystemActivities } from '../activities/system';
import { TASK_QUEUES } from '../workflows/shared';

/** The projection worker: fan-out, backfill, profile and engagement workflows and their activities. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('worker-projection', config.LOG_LEVEL);
  const { mongo, db } = await connectMongo(config);
  const graph = connectGraph(config);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    const worker = await Worker.create({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.TASK_QUEUE_PREFIX + TASK_QUEUES.projection,
      workflowsPath: require.resolve('../workflows'),
      activities: { ...createSystemActivities({ db, graph }) },
    });
    logger.info({ taskQueue: TASK_QUEUES.projection }, 'worker started');
    await worker.run();
  } finally {
    await connection.close();
    await graph.close();
    await mongo.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
