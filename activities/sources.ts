import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { blockId, connectionId, followId, feedItemId } from '../domain/ids';
import { type PushedReason, type ScoringReason, scoringReasonOf } from '../domain/reasons';
import { pushedVisibilities } from '../domain/visibility';
import type { ProjectionInput } from '../pipeline/contracts/projection';
import { provisionalScore } from '../ranking/provisional';
import { type ActorSnapshot, type FeedItemDoc } from '../stores/read-model';
import type { PostDoc, RelationshipDoc, UserDoc, WriteModel } from '../stores/write-model';

/**
 * Loading the write model (the source of truth) for projection activities. The event is the commit point and
 * the write-model change may land a moment later (see handoff/outbox.ts), so a document that is missing
 * or older than the event is a transient state, retried; an event that does not exist is a permanent failure.
 */

async function requireEvent(wm: WriteModel, input: ProjectionInput, what: string): Promise<never> {
  const event = await wm.events.findOne({ _id: input.eventId }, { projection: { _id: 1 } });
  if (!event) {
    throw ApplicationFailure.create({
      type: 'NotFound',
      nonRetryable: true,
      message: `${what}: no event ${input.eventId}`,
    });
  }
  throw new Error(`${what} not yet at the version of ${input.eventId}; retrying`);
}

/** The post at `minVersion` or newer. */
export async function requirePost(
  wm: WriteModel,
  input: ProjectionInput,
  postId: string,
  minVersion: number,
): Promise<PostDoc> {
  const post = await wm.posts.findOne({ _id: postId });
  if (post && post.version >= minVersion) return post;
  return requireEvent(wm, input, `post ${postId}`);
}

export async function requireUser(wm: WriteModel, input: ProjectionInput, userId: string): Promise<UserDoc> {
  const user = await wm.users.findOne({ _id: userId });
  if (user) return user;
  return requireEvent(wm, input, `user ${userId}`);
}

export function actorSnapshot(user: UserDoc): ActorSnapshot {
  return {
    id: user._id,
    name: user.displayName,
    headline: user.headline,
    imageUrl: user.imageUrl,
    version: user.version,
  };
}

export function feedItem(
  post: PostDoc,
  actor: ActorSnapshot,
  viewerId: string,
  reason: PushedReason,
  acceptedAt: Date,
  projectedAt: Date,
  /** The relationship a backfilled item is scored as until the model scores it; a follow if not given. */
  scoredAs?: ScoringReason,
): FeedItemDoc {
  return {
    _id: feedItemId(viewerId, post._id),
    viewerId,
    postId: post._id,
    version: post.version,
    actor,
    type: post.type,
    content: post.content,
    mediaUrls: post.mediaUrls ?? [],
    visibility: post.visibility,
    createdAt: post.createdAt,
    acceptedAt,
    projectedAt,
    score: provisionalScore(scoredAs ?? scoringReasonOf(reason)),
    modelVersion: null,
    reason,
  };
}

/** Every relationship document between two members, loaded by id (the only lookup FerretDB pushes down). */
export interface PairState {
  connection: RelationshipDoc | null;
  follows: { ab: RelationshipDoc | null; ba: RelationshipDoc | null };
  blocks: { ab: RelationshipDoc | null; ba: RelationshipDoc | null };
}

export async function loadPair(wm: WriteModel, a: string, b: string): Promise<PairState> {
  const ids = [connectionId(a, b), followId(a, b), followId(b, a), blockId(a, b), blockId(b, a)];
  const [connection, fab, fba, bab, bba] = await Promise.all(ids.map((_id) => wm.relationships.findOne({ _id })));
  return { connection, follows: { ab: fab, ba: fba }, blocks: { ab: bab, ba: bba } };
}

export const isConnected = (p: PairState) => !!p.connection?.active && p.connection.status === 'accepted';
export const isBlocked = (p: PairState) => !!p.blocks.ab?.active || !!p.blocks.ba?.active;

/** What `viewer` may see of `author`'s posts now: nothing, public posts (a follow), or connection posts too. */
export function visibleTo(p: PairState, viewer: string, author: string): Array<'public' | 'connections'> {
  const follows = [p.follows.ab, p.follows.ba].some((f) => f?.active && f.from === viewer && f.to === author);
  return pushedVisibilities({ blocked: isBlocked(p), connected: isConnected(p), follows });
}

/** Heartbeats while a long single statement runs, so a slow store is not mistaken for a dead worker. */
export async function whileHeartbeating<T>(work: Promise<T>, details?: unknown): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(details), 1_000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
