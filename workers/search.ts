import { type Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import { createSearchActivities } from '../activities/search';
import { DAY_MS } from '../domain/time';
import { searchAliasOf, type Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { exitOnFailure } from '../lib/main';
import type { SearchCheckInput } from '../pipeline/contracts/search';
import { TASK_QUEUES } from '../pipeline/queues';
import { SCHEDULES } from '../pipeline/schedules';
import { connectSearch, createSearchIndex } from '../stores/search';
import { searchCheckWorkflow } from '../workflows/search-check';
import { runQueueWorker } from './shared';

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
  await runQueueWorker('worker-search', 'search', ({ config, logger, db, temporal }) => {
    const client = connectSearch(config);
    const search = createSearchIndex(client, searchAliasOf(config));
    return {
      // Best effort: with OpenSearch down the worker still starts, and the first write creates the index.
      async prepare() {
        await search.ensure().catch((err) => logger.warn({ err }, 'search index not ready yet; writes will retry'));
      },
      activities: createSearchActivities({ db, search, logger }),
      async afterCreate() {
        if (config.SCHEDULES_ENABLED) await ensureSearchCheckSchedule(temporal, config, logger);
      },
      logFields: { alias: search.alias },
      close: () => client.close(),
    };
  });
}

if (require.main === module) exitOnFailure(main());
