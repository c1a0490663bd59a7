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
