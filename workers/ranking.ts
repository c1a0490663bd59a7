import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createRankingActivities } from '../activities/ranking';
import { createScoringActivities } from '../activities/scoring';
import { connectGraph, connectMongo, connectTemporal } from '../lib/clients';
import { loadConfig, type Config } from '../lib/config';
import { createLogger, type Logger } from '../lib/logger';
import { exitOnFailure } from '../lib/main';
import { startMetricsServer } from '../lib/metrics';
import { TASK_QUEUES } from '../pipeline/queues';
import { closeFeedCacheWriter } from '../stores/feed-cache';
import { createGraph } from '../stores/graph';
import { closeEngagementModels, loadEngagementModel } from '../stores/model';
import { modelRolloutWorkflow } from '../workflows/model-rollout';
import { loadWorkflowBundle } from './bundle';
import { activityInterceptors, installRuntimeLogger } from './observability';

/** The ranking worker: scoring after fan-out, re-scoring on engagement and model rollouts, one ONNX session. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('worker-ranking', config.LOG_LEVEL);
  installRuntimeLogger(logger);
  // Loaded before anything connects: a model whose schema does not match the serving code, or a workflow bundle
  // older than the workflow sources, stops the process here.
  const model = await loadEngagementModel(config.RANKING_MODEL_PATH);
  const workflowBundle = await loadWorkflowBundle();
  const { mongo, db } = await connectMongo(config);
  const driver = connectGraph(config);
  const graph = createGraph(driver, config.GRAPH_DIALECT);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const metricsServer = await startMetricsServer(config.RANKING_WORKER_METRICS_PORT, config.METRICS_HOST);
  try {
    const taskQueue = config.TASK_QUEUE_PREFIX + TASK_QUEUES.ranking;
    const deps = { db, graph, config, modelPath: config.RANKING_MODEL_PATH };
    const worker = await Worker.create({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue,
      workflowBundle,
      activities: { ...createRankingActivities(deps), ...createScoringActivities(deps) },
      interceptors: { activity: [activityInterceptors(logger)] },
    });
    logger.info(
      {
        taskQueue,
        pid: process.pid,
        modelVersion: model.info.modelVersion,
        metricsPort: metricsServer.port,
        workflowBundle: workflowBundle.sha256,
      },
      'worker started',
    );
    await startRollout(config, taskQueue, model.info.modelVersion, logger);
    await worker.run();
  } finally {
    await metricsServer.close();
    await connection.close();
    await driver.close();
    await mongo.close();
    // The feed cache's writer connection, opened by the first invalidation; open, it keeps the process alive.
    await closeFeedCacheWriter();
    await closeEngagementModels();
  }
}

/**
 * A newly deployed model version re-scores existing items in the background, once: the rollout's id is the
 * version, so every worker that starts with it asks, and only the first start runs.
 */
async function startRollout(config: Config, taskQueue: string, modelVersion: string, logger: Logger): Promise<void> {
  const temporal = await connectTemporal(config);
  try {
    await temporal.workflow.start(modelRolloutWorkflow, {
      taskQueue,
      // Per deployment: another database on the same namespace rolls the same version out over its own items.
      workflowId: `${config.TASK_QUEUE_PREFIX}rollout/model/${modelVersion}`,
      args: [{ modelVersion }],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
    logger.info({ modelVersion }, 'model rollout started');
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  } finally {
    await temporal.connection.close();
  }
}

exitOnFailure(main());
