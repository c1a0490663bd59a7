/**
 * The task queues the workers poll. Queue names carry the deployment's TASK_QUEUE_PREFIX; these are the suffixes.
 * Loaded inside workflows, so this file imports nothing.
 */

export const TASK_QUEUES = {
  /** Fan-out, update, backfill, profile and engagement projections. */
  projection: 'projection',
  /** Deletes and purges, so a delete never waits behind a large fan-out. */
  priority: 'projection-priority',
  /** Scoring, re-scoring and model rollouts, so the fan-out never waits for the model. */
  ranking: 'ranking',
  /** Search indexing, rebuilds and checks, so OpenSearch being slow or down never delays a feed. */
  search: 'search',
} as const;
export type TaskQueueName = keyof typeof TASK_QUEUES;

/**
 * The deployment's TASK_QUEUE_PREFIX, read off one of its queue names: workflows cannot read it from config, and
 * activities started from them see only their queue.
 */
export function deploymentPrefix(taskQueue: string): string {
  const known = Object.values(TASK_QUEUES).sort((a, b) => b.length - a.length);
  const own = known.find((q) => taskQueue.endsWith(q));
  return own ? taskQueue.slice(0, taskQueue.length - own.length) : '';
}

/** The same deployment's queue of another kind: a workflow on `{prefix}projection` finds `{prefix}ranking`. */
export function siblingQueue(taskQueue: string, kind: TaskQueueName): string {
  return deploymentPrefix(taskQueue) + TASK_QUEUES[kind];
}
