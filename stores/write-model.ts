import type { Collection, Db } from 'mongodb';
import type { AggregateType, EventType } from '../domain/events';
import type { Visibility } from '../domain/visibility';

/**
 * The normalized write model. Every document carries a version; conflicts are caught by conditional updates
 * on that version (no transactions: FerretDB has none). The `events` collection is the commit point: a command
 * is accepted when its event is inserted, and the write-model change is re-applied from the event if the
 * process dies before finishing (see handoff/outbox.ts).
 */

export const POST_TYPES = ['text', 'image', 'video', 'article'] as const;
export type PostType = (typeof POST_TYPES)[number];
export const RELATIONSHIP_TYPES = ['connection', 'follow', 'block'] as const;
export type RelationshipType = (typeof RELATIONSHIP_TYPES)[number];
export const RELATIONSHIP_STATUSES = ['pending', 'accepted', 'declined'] as const;
export type RelationshipStatus = (typeof RELATIONSHIP_STATUSES)[number];
export const ENGAGEMENT_KINDS = ['like', 'comment', 'share', 'view'] as const;
export type EngagementKind = (typeof ENGAGEMENT_KINDS)[number];

export interface UserDoc {
  _id: string;
  /** Lower-cased; unique. */
  email: string;
  displayName: string;
  headline: string;
  imageUrl: string;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface PostDoc {
  _id: string;
  authorId: string;
  content: string;
  visibility: Visibility;
  type: PostType;
  mediaUrls: string[];
  version: number;
  /** Tombstone: a deleted post keeps its document so late projections can see it is gone. */
  deleted: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** Posts newest first, ties by id descending: the order of every feed and post list. */
export const newestFirst = (a: Pick<PostDoc, '_id' | 'createdAt'>, b: Pick<PostDoc, '_id' | 'createdAt'>): number =>
  b.createdAt.getTime() - a.createdAt.getTime() || (a._id < b._id ? 1 : a._id > b._id ? -1 : 0);

/**
 * One document per relationship, with a deterministic id:
 * - connection: `c-{a}-{b}` with a < b, so a pair has at most one connection whoever asked;
 * - follow: `f-{from}-{to}`; block: `b-{from}-{to}`.
 * `active` is false once removed, unfollowed or unblocked; the document stays so versions keep growing.
 */
export interface RelationshipDoc {
  _id: string;
  type: RelationshipType;
  /** Requester, follower or blocker. */
  from: string;
  /** Addressee, followee or blocked member. */
  to: string;
  status: RelationshipStatus;
  active: boolean;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface EngagementDoc {
  _id: string;
  postId: string;
  userId: string;
  kind: EngagementKind;
  comment?: string;
  version: number;
  createdAt: Date;
}

export type EventStatus = 'pending' | 'started' | 'none';

export interface EventDoc {
  /** Deterministic, e.g. `post/{postId}/v{version}/created`; also the projecting workflow's id. */
  _id: string;
  type: EventType;
  aggregateType: AggregateType;
  aggregateId: string;
  aggregateVersion: number;
  at: Date;
  /** Who issued the command (member id) and through which calling service. */
  actorId: string;
  caller: string;
  /** Compact: ids and the changed fields only. */
  payload: Record<string, unknown>;
  /**
   * The event's projection route, stored once at commit (domain/events.ts eventWorkflowId) and read by every start
   * and replay; absent for audit-only events.
   */
  workflowId?: string;
  workflowType?: string;
  taskQueue?: string;
  status: EventStatus;
  startedAt?: Date;
  /** `{caller}/{rpc}/{request_id}`, or the event id when the caller gave none, so it can be uniquely indexed. */
  requestKey: string;
  /** Hash of the request payload, to tell an idempotent retry from a conflicting reuse of a request id. */
  requestHash: string;
  /** The response the command returned, replayed verbatim on an idempotent retry. */
  result: Record<string, unknown>;
}

export interface WriteModel {
  users: Collection<UserDoc>;
  posts: Collection<PostDoc>;
  relationships: Collection<RelationshipDoc>;
  engagements: Collection<EngagementDoc>;
  events: Collection<EventDoc>;
}

export function writeModel(db: Db): WriteModel {
  return {
    users: db.collection<UserDoc>('users'),
    posts: db.collection<PostDoc>('posts'),
    relationships: db.collection<RelationshipDoc>('connections'),
    engagements: db.collection<EngagementDoc>('engagements'),
    events: db.collection<EventDoc>('events'),
  };
}

/** Creates the write model's indexes; safe to call on every start. */
export async function ensureWriteModelIndexes(db: Db): Promise<void> {
  const wm = writeModel(db);
  await Promise.all([
    wm.users.createIndex({ email: 1 }, { unique: true, name: 'email_unique' }),
    wm.posts.createIndex({ authorId: 1, createdAt: -1, _id: -1 }, { name: 'author_recent' }),
    wm.posts.createIndex({ createdAt: -1, _id: -1 }, { name: 'recent' }),
    wm.relationships.createIndex({ from: 1, to: 1, type: 1 }, { unique: true, name: 'pair_type_unique' }),
    wm.relationships.createIndex({ to: 1, type: 1, active: 1 }, { name: 'to_type' }),
    wm.relationships.createIndex({ from: 1, type: 1, active: 1 }, { name: 'from_type' }),
    wm.engagements.createIndex({ postId: 1, kind: 1 }, { name: 'post_kind' }),
    wm.engagements.createIndex({ userId: 1, createdAt: -1 }, { name: 'user_recent' }),
    // One event per aggregate version: this index is the optimistic lock for concurrent commands.
    wm.events.createIndex(
      { aggregateType: 1, aggregateId: 1, aggregateVersion: 1 },
      { unique: true, name: 'aggregate_version_unique' },
    ),
    wm.events.createIndex({ requestKey: 1 }, { unique: true, name: 'request_key_unique' }),
    wm.events.createIndex({ status: 1, at: 1 }, { name: 'outbox' }),
    wm.events.createIndex({ at: -1 }, { name: 'recent' }),
  ]);
}
