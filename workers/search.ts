import { type Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createSearchActivities } from '../activities/search';
import { DAY_MS } from '../domain/time';
import { connectMongo, connectTemporal } from '../lib/clients';
import { loadConfig, searchAliasOf, type Config } from '../lib/config';
import { createLogger, type Logger } from '../lib/logger';
import { startMetricsServer } from '../lib/metrics';
import type { SearchCheckInput } from '../pipeline/contracts/search';
import { TASK_QUEUES } from '../pipeline/queues';
import { SCHEDULES } from '../pipeline/schedules';
import { closeFeedCacheWriter } from '../stores/feed-cache';
import { connectSearch, createSearchIndex } from '../stores/search';
import { searchCheckWorkflow } from '../workflows/search-check';
import { loadWorkflowBundle } from './bundle';
import { activityInterceptors, installRuntimeLogger } from './observability';

type CheckConfig = Pick<
  Config,
  'TASK_QUEUE_PREFIX' | 'SCHEDULE_CATCHUP_WINDOW_MS' | 'SEARCH_CHECK_INTERVAL_MS' | 'SEARCH_CHECK_SAMPLE'
>;

/**
 * Creates the search check's schedule, or brings it to this config while keeping an operator's pause. It runs on
 * the search queue, so only this worker (which knows OpenSearch) owns it.
 */
export async function ensureSearchCheckSchedule(temporal: Client, config: CheckConfig, logger: Logger): Promise<void> {
  const scheduleId = config.TASK_QUEUE_PREFIX + SCHEDULES.searchCheck;
  const args: [SearchCheckInput] = [
    { sample: config.SEARCH_CHECK_SAMPLE, windowMs: Math.max(config.SEARCH_CHECK_INTERVAL_MS, 60_000) },
  ];
  const spec = { intervals: [{ every: config.SEARCH_CHECK_INTERVAL_MS }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: searchCheckWorkflow,
    workflowId: config.TASK_QUEUE_PREFIX + 'search/check',
    taskQueue: config.TASK_QUEUE_PREFIX + TASK_QUEUES.search,
    args,
    workflowExecutionTimeout: Math.min(Math.max(config.SEARCH_CHECK_INTERVAL_MS * 10, 600_000), DAY_MS),
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: config.SCHEDULE_CATCHUP_WINDOW_MS };
  const note = 'Samples the search index against the write model and re-indexes what drifted';
  try {
    await temporal.schedule.create({ scheduleId, spec, action, policies, state: { note } });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await temporal.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action, policies }));
  }
  logger.info({ scheduleId, everyMs: config.SEARCH_CHECK_INTERVAL_MS }, 'search check schedule ready');
}

/** The search worker: indexes posts into OpenSearch, rebuilds the index and runs its check, on its own queue. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('worker-search', config.LOG_LEVEL);
  installRuntimeLogger(logger);
  // Before anything connects: a bundle older than the workflow sources stops the process here, naming the file.
  const workflowBundle = await loadWorkflowBundle();
  const { mongo, db } = await connectMongo(config);
  const client = connectSearch(config);
  const search = createSearchIndex(client, searchAliasOf(config));
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const temporal = await connectTemporal(config);
  const metricsServer = await startMetricsServer(config.SEARCH_WORKER_METRICS_PORT, config.METRICS_HOST);
  try {
    // Best effort: with OpenSearch down the worker still starts, and the first write creates the index.
    await search.ensure().catch((err) => logger.warn({ err }, 'search index not ready yet; writes will retry'));
    const taskQueue = config.TASK_QUEUE_PREFIX + TASK_QUEUES.search;
    const worker = await Worker.create({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue,
      workflowBundle,
      activities: createSearchActivities({ db, search, logger }),
      interceptors: { activity: [activityInterceptors(logger)] },
    });
    if (config.SCHEDULES_ENABLED) await ensureSearchCheckSchedule(temporal, config, logger);
    logger.info(
      {
        taskQueue,
        alias: search.alias,
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
    await client.close();
    await mongo.close();
    // The feed cache's writer connection, opened by the first invalidation; open, it keeps the process alive.
    await closeFeedCacheWriter();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
