import type { EventType } from '../domain/events';
import { connectionId, followId } from '../domain/ids';
import { isDuplicateKey } from '../stores/mongo-errors';
import {
  type EventDoc,
  type PostDoc,
  type RelationshipDoc,
  type UserDoc,
  type WriteModel,
} from '../stores/write-model';

/** The relationship each relationship event leaves behind. */
const RELATIONSHIP_STATES: Partial<Record<EventType, Pick<RelationshipDoc, 'type' | 'status' | 'active'>>> = {
  ConnectionRequested: { type: 'connection', status: 'pending', active: true },
  ConnectionAccepted: { type: 'connection', status: 'accepted', active: true },
  ConnectionDeclined: { type: 'connection', status: 'declined', active: false },
  ConnectionRemoved: { type: 'connection', status: 'accepted', active: false },
  Followed: { type: 'follow', status: 'accepted', active: true },
  Unfollowed: { type: 'follow', status: 'accepted', active: false },
  Blocked: { type: 'block', status: 'accepted', active: true },
  Unblocked: { type: 'block', status: 'accepted', active: false },
};

/**
 * Applies an accepted event to the write model. Idempotent: every change is conditional on the aggregate's
 * previous version (or on insert-if-absent), so applying an event twice, or after a crash, changes nothing.
 * The outbox sweep calls this for events whose command died before finishing.
 */
export async function applyEvent(wm: WriteModel, ev: EventDoc): Promise<void> {
  const p = ev.payload;
  const v = ev.aggregateVersion;
  const at = ev.at;
  const relationship = RELATIONSHIP_STATES[ev.type];
  if (relationship) {
    await setRelationship(wm, ev, relationship);
    if (ev.type === 'Blocked') {
      // A block ends every edge between the pair, both ways. Matching on active makes this idempotent.
      const a = String(p.from);
      const b = String(p.to);
      await wm.relationships.updateMany(
        { _id: { $in: [connectionId(a, b), followId(a, b), followId(b, a)] }, active: true },
        { $set: { active: false, updatedAt: at }, $inc: { version: 1 } },
      );
    }
    return;
  }
  switch (ev.type) {
    case 'UserRegistered':
      await insertIfAbsent(wm.users, {
        _id: ev.aggregateId,
        email: String(p.email),
        displayName: String(p.displayName),
        headline: String(p.headline),
        imageUrl: String(p.imageUrl),
        version: 1,
        createdAt: at,
        updatedAt: at,
      } satisfies UserDoc);
      return;
    case 'ProfileUpdated': {
      const set: Partial<UserDoc> = { version: v, updatedAt: at };
      for (const k of ['displayName', 'headline', 'imageUrl'] as const) {
        if (typeof p[k] === 'string') set[k] = p[k] as string;
      }
      await wm.users.updateOne({ _id: ev.aggregateId, version: v - 1 }, { $set: set });
      return;
    }
    case 'PostCreated':
      await insertIfAbsent(wm.posts, {
        _id: ev.aggregateId,
        authorId: String(p.authorId),
        content: String(p.content),
        visibility: p.visibility as PostDoc['visibility'],
        type: p.type as PostDoc['type'],
        mediaUrls: (p.mediaUrls as string[]) ?? [],
        version: 1,
        deleted: false,
        createdAt: at,
        updatedAt: at,
      } satisfies PostDoc);
      return;
    case 'PostUpdated':
      await wm.posts.updateOne(
        { _id: ev.aggregateId, version: v - 1 },
        { $set: { content: String(p.content), version: v, updatedAt: at } },
      );
      return;
    case 'PostDeleted':
      await wm.posts.updateOne(
        { _id: ev.aggregateId, version: v - 1 },
        { $set: { deleted: true, version: v, updatedAt: at } },
      );
      return;
    case 'EngagementRecorded':
      await insertIfAbsent(wm.engagements, {
        _id: ev.aggregateId,
        postId: String(p.postId),
        userId: String(p.userId),
        kind: p.kind as 'like',
        ...(typeof p.comment === 'string' && p.comment ? { comment: p.comment } : {}),
        version: 1,
        createdAt: at,
      });
      return;
  }
}

async function setRelationship(
  wm: WriteModel,
  ev: EventDoc,
  state: Pick<RelationshipDoc, 'type' | 'status' | 'active'>,
): Promise<void> {
  const v = ev.aggregateVersion;
  const from = String(ev.payload.from);
  const to = String(ev.payload.to);
  if (v === 1) {
    await insertIfAbsent(wm.relationships, {
      _id: ev.aggregateId,
      from,
      to,
      ...state,
      version: 1,
      createdAt: ev.at,
      updatedAt: ev.at,
    });
    return;
  }
  await wm.relationships.updateOne(
    { _id: ev.aggregateId, version: v - 1 },
    { $set: { ...state, from, to, version: v, updatedAt: ev.at } },
  );
}

async function insertIfAbsent<T extends { _id: string }>(
  coll: { insertOne(doc: T): Promise<unknown> },
  doc: T,
): Promise<void> {
  try {
    await coll.insertOne(doc);
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
}
