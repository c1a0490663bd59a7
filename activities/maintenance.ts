import type { TrimFeedsResult } from '../pipeline/contracts/projection';
import { trimFeedsToCap } from '../stores/feed-cap';
import { readModel } from '../stores/read-model';
import type { ProjectionDeps } from './deps';
import { whileHeartbeating } from './heartbeat';

/** Pause per 1,000 items read by the cap sweep, so it yields the store to foreground projections. */
const SWEEP_PAUSE_MS = 20;

/** The activities of createMaintenanceActivities, as workflows proxy them. */
export interface MaintenanceActivities {
  trimSweepScope(): Promise<string>;
  trimFeeds(input: { since: string }): Promise<TrimFeedsResult>;
}

/** Read-model upkeep that no single event owns. */
export function createMaintenanceActivities({ db, config, logger }: ProjectionDeps): MaintenanceActivities {
  const rm = readModel(db);

  return {
    /**
     * Names this deployment's cap sweeps (its task-queue prefix), so deployments sharing a namespace each sweep
     * their own read model. An activity, not workflow code: workflow ids must not depend on the worker.
     */
    async trimSweepScope(): Promise<string> {
      return config.TASK_QUEUE_PREFIX;
    },

    /** Trims every feed written since `since` to the cap. */
    async trimFeeds(input: { since: string }): Promise<TrimFeedsResult> {
      const result = await whileHeartbeating(
        trimFeedsToCap(rm, { cap: config.FEED_CAP, since: new Date(input.since), pauseMs: SWEEP_PAUSE_MS }),
      );
      if (result.trimmed) logger.info({ ...result, since: input.since }, 'feeds trimmed to the cap');
      return result;
    },
  };
}
