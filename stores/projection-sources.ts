import { ApplicationFailure } from '@temporalio/common';
import type { ProjectionInput } from '../pipeline/contracts/projection';
import type { PostDoc, UserDoc, WriteModel } from './write-model';

/**
 * The write model (the source of truth) as a projection reads it. The event is the commit point and the
 * write-model change may land a moment later (see handoff/outbox.ts), so a document that is missing or older than
 * the event is a transient state, retried; an event that does not exist is a permanent failure.
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
