import type { Db } from 'mongodb';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import type { Graph } from '../stores/graph';

/** The long-lived clients and settings every projection activity factory closes over. */
export interface ProjectionDeps {
  db: Db;
  graph: Graph;
  config: Pick<
    Config,
    'FEED_CAP' | 'FANOUT_PAGE_SIZE' | 'PULL_AUTHOR_THRESHOLD' | 'PULL_LOOKBACK_DAYS' | 'TASK_QUEUE_PREFIX'
  >;
  logger: Logger;
}
