import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { EventType } from '../domain/events';
import { WORKFLOW_TYPES, type WorkflowType } from './registry';

/**
 * Routing between the command side and the projection pipeline: task queues, which workflow projects each event,
 * the search attributes operators find runs by, and the schedules. The workflows' inputs and results live in
 * ./contracts, one file per area; this file is loaded inside workflows.
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

/** The workflow kinds that project events into the read models and the graph. */
export type ProjectionKind = 'fanout' | 'update' | 'delete' | 'backfill' | 'purge' | 'profile' | 'engagement';
/** What operators find runs by, in the FeedOperation search attribute. */
export type FeedOperation =
  | ProjectionKind
  | 'pull-transition'
  | 'trim'
  | 'consistency'
  | 'repair'
  | 'rebuild'
  | 'replay'
  | 'replay-failed'
  | 'outbox'
  | 'search-index'
  | 'search-reindex'
  | 'search-check';

export const PROJECTION_KINDS: readonly ProjectionKind[] = [
  'fanout',
  'update',
  'delete',
  'backfill',
  'purge',
  'profile',
  'engagement',
];

interface Route {
  kind: ProjectionKind;
  workflowType: WorkflowType;
  queue: TaskQueueName;
}

/**
 * Which workflow projects each event. Events missing here (a pending or declined request) change no read model
 * or graph edge; they are recorded for the audit trail only.
 */
export const PROJECTIONS: Partial<Record<EventType, Route>> = {
  UserRegistered: { kind: 'profile', workflowType: WORKFLOW_TYPES.profile, queue: 'projection' },
  ProfileUpdated: { kind: 'profile', workflowType: WORKFLOW_TYPES.profile, queue: 'projection' },
  PostCreated: { kind: 'fanout', workflowType: WORKFLOW_TYPES.fanoutPost, queue: 'projection' },
  PostUpdated: { kind: 'update', workflowType: WORKFLOW_TYPES.updatePost, queue: 'projection' },
  PostDeleted: { kind: 'delete', workflowType: WORKFLOW_TYPES.deletePost, queue: 'priority' },
  ConnectionAccepted: { kind: 'backfill', workflowType: WORKFLOW_TYPES.backfill, queue: 'projection' },
  Followed: { kind: 'backfill', workflowType: WORKFLOW_TYPES.backfill, queue: 'projection' },
  ConnectionRemoved: { kind: 'purge', workflowType: WORKFLOW_TYPES.purge, queue: 'priority' },
  Unfollowed: { kind: 'purge', workflowType: WORKFLOW_TYPES.purge, queue: 'priority' },
  Blocked: { kind: 'purge', workflowType: WORKFLOW_TYPES.purge, queue: 'priority' },
  // An unblock re-opens nothing by itself (the block ended every edge); the purge workflow syncs the graph.
  Unblocked: { kind: 'purge', workflowType: WORKFLOW_TYPES.purge, queue: 'priority' },
  EngagementRecorded: { kind: 'engagement', workflowType: WORKFLOW_TYPES.engagement, queue: 'projection' },
};

/**
 * The events that change what search finds, and the workflow that indexes them on the search queue. The hand-off
 * starts it beside the event's projection (handoff/start.ts), as `{prefix}search/{eventId}:{time}`, so neither
 * waits for the other.
 */
export const SEARCH_PROJECTIONS: Partial<Record<EventType, WorkflowType>> = {
  PostCreated: WORKFLOW_TYPES.searchIndex,
  PostUpdated: WORKFLOW_TYPES.searchIndex,
  PostDeleted: WORKFLOW_TYPES.searchIndex,
  ProfileUpdated: WORKFLOW_TYPES.searchIndex,
};

/** Custom search attributes (registered by the stack script) that let operators find projections in the UI. */
export const SEARCH_ATTRIBUTES = {
  postId: defineSearchAttributeKey('PostId', SearchAttributeType.KEYWORD),
  authorId: defineSearchAttributeKey('AuthorId', SearchAttributeType.KEYWORD),
  viewerId: defineSearchAttributeKey('ViewerId', SearchAttributeType.KEYWORD),
  feedOperation: defineSearchAttributeKey('FeedOperation', SearchAttributeType.KEYWORD),
};

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

/** The schedules a deployment runs, by id suffix (ids carry TASK_QUEUE_PREFIX). */
export const SCHEDULES = {
  recentCheck: 'feedflow-consistency-recent',
  deepCheck: 'feedflow-consistency-deep',
  outboxSweep: 'feedflow-outbox-sweep',
  feedTrim: 'feedflow-feed-trim',
  /** Created by the search worker, on the search queue. */
  searchCheck: 'feedflow-search-check',
} as const;

/**
 * The fan-out child of one replay run (`replay/post/{postId}/v{version}/fanout/{runId}`): each replay its own, so a
 * replay never meets an earlier replay's child, and GetOperation finds the one to ask for progress.
 */
export const replayChildId = (replayWorkflowId: string, replayRunId: string): string =>
  `${replayWorkflowId}/fanout/${replayRunId}`;
