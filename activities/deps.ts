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
    | 'FEED_CAP'
    | 'FANOUT_PAGE_SIZE'
    | 'PULL_AUTHOR_THRESHOLD'
    | 'TASK_QUEUE_PREFIX'
    | 'FEED_WINDOW_SIZE'
    | 'PULL_LOOKBACK_DAYS'
    | 'FEED_SECOND_DEGREE_AUTHORS'
  >;
  logger: Logger;
}
