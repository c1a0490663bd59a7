import { type Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import { DAY_MS } from '../domain/time';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import type { ConsistencyCheckInput } from '../pipeline/contracts/operations';
import { FEED_TRIM_INTERVAL_MS } from '../pipeline/contracts/projection';
import { TASK_QUEUES } from '../pipeline/queues';
import { type FeedOperation } from '../pipeline/routing';
import { SCHEDULES } from '../pipeline/schedules';
import { SEARCH_ATTRIBUTES } from '../pipeline/search-attributes';
import { consistencyCheckWorkflow } from '../workflows/consistency-check';
import { outboxSweepWorkflow } from '../workflows/outbox-sweep';
import { trimFeedsWorkflow } from '../workflows/trim-feeds';

type ScheduleConfig = Pick<
  Config,
  | 'TASK_QUEUE_PREFIX'
  | 'SCHEDULE_CATCHUP_WINDOW_MS'
  | 'CONSISTENCY_RECENT_INTERVAL_MS'
  | 'CONSISTENCY_RECENT_WINDOW_MS'
  | 'CONSISTENCY_SETTLE_MS'
  | 'CONSISTENCY_SCORE_WINDOW_MS'
  | 'CONSISTENCY_DEEP_INTERVAL_MS'
  | 'CONSISTENCY_DEEP_SAMPLE'
  | 'OUTBOX_SCHEDULE_INTERVAL_MS'
  | 'OUTBOX_SWEEP_AGE_MS'
>;

interface Plan<W extends Workflow = Workflow> {
  scheduleId: string;
  everyMs: number;
  workflowType: W;
  workflowId: string;
  args: Parameters<W>;
  /** What operators find its runs by (FeedOperation), given at start so the run records no upsert. */
  operation: FeedOperation;
  note: string;
}

/** A plan whose arguments are checked against its workflow's signature. */
const plan = <W extends Workflow>(p: Plan<W>): Plan => p;

/** The deployment's schedules, their ids carrying its task-queue prefix so test deployments never collide. */
export function schedulePlans(config: ScheduleConfig): Plan[] {
  const id = (s: string) => config.TASK_QUEUE_PREFIX + s;
  const recent: ConsistencyCheckInput = {
    scope: 'recent',
    windowMs: config.CONSISTENCY_RECENT_WINDOW_MS,
    settleMs: config.CONSISTENCY_SETTLE_MS,
    scoreWindowMs: config.CONSISTENCY_SCORE_WINDOW_MS,
  };
  const deep: ConsistencyCheckInput = {
    scope: 'deep',
    sample: config.CONSISTENCY_DEEP_SAMPLE,
    scoreWindowMs: config.CONSISTENCY_SCORE_WINDOW_MS,
  };
  return [
    plan({
      scheduleId: id(SCHEDULES.recentCheck),
      everyMs: config.CONSISTENCY_RECENT_INTERVAL_MS,
      workflowType: consistencyCheckWorkflow,
      workflowId: id('consistency/recent'),
      args: [recent],
      operation: 'consistency',
      note: 'Checks the last minutes of events against the read models and repairs drift',
    }),
    plan({
      scheduleId: id(SCHEDULES.deepCheck),
      everyMs: config.CONSISTENCY_DEEP_INTERVAL_MS,
      workflowType: consistencyCheckWorkflow,
      workflowId: id('consistency/deep'),
      args: [deep],
      operation: 'consistency',
      note: 'Rebuilds a sample of feeds in memory, diffs them against the read model and repairs drift',
    }),
    plan({
      scheduleId: id(SCHEDULES.outboxSweep),
      everyMs: config.OUTBOX_SCHEDULE_INTERVAL_MS,
      workflowType: outboxSweepWorkflow,
      workflowId: id('outbox/sweep'),
      args: [{ olderThanMs: config.OUTBOX_SWEEP_AGE_MS }],
      operation: 'outbox',
      note: 'Starts the projections of events still pending after the sweep age',
    }),
    plan({
      scheduleId: id(SCHEDULES.feedTrim),
      everyMs: FEED_TRIM_INTERVAL_MS,
      workflowType: trimFeedsWorkflow,
      workflowId: id('trim/feeds'),
      args: [{ windowMs: 2 * FEED_TRIM_INTERVAL_MS }],
      operation: 'trim',
      note: 'Trims the feeds written in the last two intervals to FEED_CAP',
    }),
  ];
}

/**
 * Creates the schedules, or brings existing ones to this config (interval, arguments, policies) while keeping
 * their paused state: a worker restart never resumes schedules an operator paused. Safe to run on every start.
 */
export async function ensureSchedules(client: Client, config: ScheduleConfig, logger: Logger): Promise<string[]> {
  const taskQueue = config.TASK_QUEUE_PREFIX + TASK_QUEUES.projection;
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: config.SCHEDULE_CATCHUP_WINDOW_MS };
  for (const p of schedulePlans(config)) {
    const spec = { intervals: [{ every: p.everyMs }] };
    const action = {
      type: 'startWorkflow' as const,
      workflowType: p.workflowType,
      workflowId: p.workflowId,
      taskQueue,
      args: p.args,
      typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.feedOperation, value: p.operation }],
      // A run that cannot finish within ten intervals (at least 10 min, at most a day) is stuck: end it.
      workflowExecutionTimeout: Math.min(Math.max(p.everyMs * 10, 600_000), DAY_MS),
    };
    try {
      await client.schedule.create({ scheduleId: p.scheduleId, spec, action, policies, state: { note: p.note } });
      logger.info({ scheduleId: p.scheduleId, everyMs: p.everyMs }, 'schedule created');
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await client.schedule.getHandle(p.scheduleId).update((prev) => ({
        ...prev,
        spec,
        action,
        policies,
        state: { paused: prev.state.paused, note: prev.state.note },
      }));
      logger.info({ scheduleId: p.scheduleId, everyMs: p.everyMs }, 'schedule updated');
    }
  }
  return schedulePlans(config).map((p) => p.scheduleId);
}
