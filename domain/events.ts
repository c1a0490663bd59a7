/**
 * The event catalogue: what the command side accepts and the projection pipeline consumes, and the deterministic
 * ids that make every hand-off idempotent.
 */

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

/** The relationship events that end an edge: each takes posts out of a feed, so the checks verify its purge. */
export const EDGE_ENDING_EVENTS: ReadonlySet<EventType> = new Set<EventType>([
  'ConnectionRemoved',
  'Unfollowed',
  'Blocked',
]);

export type AggregateType = 'user' | 'post' | 'relationship' | 'engagement';

/** The last segment of an event's id, which is also its projecting workflow's id. */
export const EVENT_VERBS: Readonly<Record<EventType, string>> = {
  UserRegistered: 'registered',
  ProfileUpdated: 'profile',
  PostCreated: 'created',
  PostUpdated: 'updated',
  PostDeleted: 'deleted',
  ConnectionRequested: 'requested',
  ConnectionAccepted: 'accepted',
  ConnectionDeclined: 'declined',
  ConnectionRemoved: 'removed',
  Followed: 'followed',
  Unfollowed: 'unfollowed',
  Blocked: 'blocked',
  Unblocked: 'unblocked',
  EngagementRecorded: 'engaged',
};

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
  return `${aggregateType}/${aggregateId}/v${version}/${EVENT_VERBS[type]}`;
}

// Aggregate ids are requireId's letters, digits and underscores, dash-joined for relationships.
const EVENT_ID = /^[a-z]+\/[A-Za-z0-9_-]+\/v\d+\/[a-z]+$/;
const TOKEN_PREFIX = 'ct1.';

/** True for an id eventIdFor could have made. */
export function isEventId(id: string): boolean {
  return EVENT_ID.test(id);
}

/**
 * The workflow that projects an event (or, with `search`, indexes it): the deployment's prefix, the event id and
 * the event's time in base 36. Event ids repeat across databases (member ids derive from emails), so the prefix
 * keeps two databases on one namespace apart, and the time keeps a database made again under the same name (a
 * reset demo) from meeting the finished workflows of the one before.
 */
export type EventWorkflowKind = 'projection' | 'search';

export function eventWorkflowId(prefix: string, eventId: string, at: Date, kind: EventWorkflowKind): string {
  return `${prefix}${kind === 'search' ? 'search/' : ''}${eventId}:${at.getTime().toString(36)}`;
}

/** The event a projection's workflow id names, or undefined; ids from before the prefix are the event id itself. */
export function eventIdOfWorkflowId(prefix: string, workflowId: string): string | undefined {
  const rest = workflowId.startsWith(prefix) ? workflowId.slice(prefix.length) : workflowId;
  const id = rest.replace(/:[0-9a-z]+$/, '');
  return EVENT_ID.test(id) ? id : undefined;
}

/** Opaque to callers; the query side decodes it to wait for the event's projection. */
export function consistencyToken(eventId: string): string {
  return TOKEN_PREFIX + Buffer.from(eventId, 'utf8').toString('base64url');
}

/** The event id a token names, or undefined for anything that is not a token this system issued. */
export function decodeConsistencyToken(token: string): string | undefined {
  if (!token.startsWith(TOKEN_PREFIX)) return undefined;
  const id = Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8');
  return EVENT_ID.test(id) ? id : undefined;
}
