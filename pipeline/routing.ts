import type { EventType } from '../domain/events';
import type { TaskQueueName } from './queues';
import { WORKFLOW_TYPES, type WorkflowType } from './registry';

/**
 * Routing between the command side and the projection pipeline: which workflow projects each event, on which queue,
 * and the operation kinds operators find runs by. Loaded inside workflows.
 */

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

/** The events routed to one kind of projection: what its workflow accepts. */
export function eventsProjectedAs(kind: ProjectionKind): ReadonlySet<EventType> {
  const routes = Object.entries(PROJECTIONS) as Array<[EventType, Route]>;
  return new Set(routes.filter(([, route]) => route.kind === kind).map(([type]) => type));
}

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

/**
 * The fan-out child of one replay run (`replay/post/{postId}/v{version}/fanout/{runId}`): each replay its own, so a
 * replay never meets an earlier replay's child, and GetOperation finds the one to ask for progress.
 */
export const replayChildId = (replayWorkflowId: string, replayRunId: string): string =>
  `${replayWorkflowId}/fanout/${replayRunId}`;
