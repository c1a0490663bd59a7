/** The schedules a deployment runs, by id suffix (ids carry TASK_QUEUE_PREFIX). */
export const SCHEDULES = {
  recentCheck: 'feedflow-consistency-recent',
  deepCheck: 'feedflow-consistency-deep',
  outboxSweep: 'feedflow-outbox-sweep',
  feedTrim: 'feedflow-feed-trim',
  /** Created by the search worker, on the search queue. */
  searchCheck: 'feedflow-search-check',
} as const;
