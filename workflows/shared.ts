import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * The contract between the command side and the projection pipeline: task queues, event types, workflow ids and
 * the inputs and results of every workflow. Plain JSON-safe types only; this file is loaded inside workflows.
 */

export const TASK_QUEUES = {
  /** Fan-out, update, backfill, profile and engagement projections. */
  projection: 'projection',
  /** Deletes and purges, so a delete never waits behind a large fan-out. */
  priority: 'projection-priority',
} as const;
export type TaskQueueName = keyof typeof TASK_QUEUES;

export const EVENT_TYPES = [
  'UserRegistered',
  'ProfileUpdated',
  'PostCreated',
  'PostUpdated',
  'PostDeleted',
  'ConnectionRequested',
  'ConnectionAccepted',
  'ConnectionDeclined',
  'ConnectionRemoved',
  'Followed',
  'Unfollowed',
  'Blocked',
  'Unblocked',
  'EngagementRecorded',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The workflow kinds that project events into the read models and the graph. */
export type ProjectionKind = 'fanout' | 'update' | 'delete' | 'backfill' | 'purge' | 'profile' | 'engagement';

interface Route {
  kind: ProjectionKind;
  workflowType: string;
  queue: TaskQueueName;
  /** Last segment of the workflow id. */
  verb: string;
}

/**
 * Which workflow projects each event. Events missing here (a pending or declined request) change no read model
 * or graph edge; they are recorded for the audit trail only.
 */
export const PROJECTIONS: Partial<Record<EventType, Route>> = {
  UserRegistered: { kind: 'profile', workflowType: 'profileWorkflow', queue: 'projection', verb: 'registered' },
  ProfileUpdated: { kind: 'profile', workflowType: 'profileWorkflow', queue: 'projection', verb: 'profile' },
  PostCreated: { kind: 'fanout', workflowType: 'fanoutPostWorkflow', queue: 'projection', verb: 'created' },
  PostUpdated: { kind: 'update', workflowType: 'updatePostWorkflow', queue: 'projection', verb: 'updated' },
  PostDeleted: { kind: 'delete', workflowType: 'deletePostWorkflow', queue: 'priority', verb: 'deleted' },
  ConnectionAccepted: { kind: 'backfill', workflowType: 'backfillWorkflow', queue: 'projection', verb: 'accepted' },
  Followed: { kind: 'backfill', workflowType: 'backfillWorkflow', queue: 'projection', verb: 'followed' },
  ConnectionRemoved: { kind: 'purge', workflowType: 'purgeWorkflow', queue: 'priority', verb: 'removed' },
  Unfollowed: { kind: 'purge', workflowType: 'purgeWorkflow', queue: 'priority', verb: 'unfollowed' },
  Blocked: { kind: 'purge', workflowType: 'purgeWorkflow', queue: 'priority', verb: 'blocked' },
  // An unblock re-opens nothing by itself (the block ended every edge); the purge workflow syncs the graph.
  Unblocked: { kind: 'purge', workflowType: 'purgeWorkflow', queue: 'priority', verb: 'unblocked' },
  EngagementRecorded: {
    kind: 'engagement',
    workflowType: 'engagementWorkflow',
    queue: 'projection',
    verb: 'engaged',
  },
};

export type AggregateType = 'user' | 'post' | 'relationship' | 'engagement';

/**
 * Deterministic event id, which is also the projecting workflow's id: `post/{postId}/v{version}/created`.
 * Starting the same id twice is harmless (Temporal rejects the duplicate start).
 */
export function eventIdFor(
  aggregateType: AggregateType,
  aggregateId: string,
  version: number,
  type: EventType,
): string {
  const verb = PROJECTIONS[type]?.verb ?? type.replace(/^Connection/, '').toLowerCase();
  return `${aggregateType}/${aggregateId}/v${version}/${verb}`;
}

/**
 * The input of every projection workflow: the event's identity and the few fields routing needs.
 * Activities load anything bigger from the event store and the write model by id.
 */
export interface ProjectionInput {
  eventId: string;
  type: EventType;
  aggregateId: string;
  version: number;
  /** ISO time the command was accepted; lag is measured from here. */
  acceptedAt: string;
  /** The member whose action it was (author, follower, blocker, ...). */
  actorId: string;
  /** The other member, for relationship events. */
  subjectId?: string;
  /** The post, for post and engagement events. */
  postId?: string;
}

export interface PingInput {
  message: string;
}

export interface PingResult {
  message: string;
  mongoRoundTrip: boolean;
  graphRoundTrip: boolean;
}

/** Custom search attributes (registered by the stack script) that let operators find projections in the UI. */
export const SEARCH_ATTRIBUTES = {
  postId: defineSearchAttributeKey('PostId', SearchAttributeType.KEYWORD),
  authorId: defineSearchAttributeKey('AuthorId', SearchAttributeType.KEYWORD),
  viewerId: defineSearchAttributeKey('ViewerId', SearchAttributeType.KEYWORD),
  feedOperation: defineSearchAttributeKey('FeedOperation', SearchAttributeType.KEYWORD),
};
