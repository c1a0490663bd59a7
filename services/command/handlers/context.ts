import { createHash, randomBytes } from 'node:crypto';
import { DomainError, notFound } from '../../../domain/errors';
import { mayRead, NO_RELATION } from '../../../domain/visibility';
import { areConnected, isBlockedEitherWay } from '../../../stores/relations';
import type { PostDoc, RelationshipDoc, UserDoc, WriteModel } from '../../../stores/write-model';
import { type CommandMeta, type CommandResult, type Committer, type NewEvent, VersionConflict } from '../commit';
import type { Moderator } from '../moderation';
import type { RateLimiter } from '../rate-limits';

/** What every command handler needs. */
export interface HandlerDeps {
  wm: WriteModel;
  committer: Committer;
  moderator: Moderator;
  limiter: RateLimiter;
}

export type { CommandMeta };

export function hashId(prefix: string, ...parts: string[]): string {
  return prefix + createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 20);
}

export function randomId(prefix: string): string {
  return prefix + randomBytes(10).toString('hex');
}

export async function loadUser(wm: WriteModel, id: string, field = 'user'): Promise<UserDoc> {
  const user = await wm.users.findOne({ _id: id });
  if (!user) throw notFound(`${field} "${id}" not found`);
  return user;
}

export async function loadLivePost(wm: WriteModel, id: string): Promise<PostDoc> {
  const post = await wm.posts.findOne({ _id: id });
  if (!post || post.deleted) throw notFound(`post "${id}" not found`);
  return post;
}

/** Whether the member may see the post: the rule the query side's safety net applies. */
export async function canSee(
  wm: WriteModel,
  userId: string,
  post: { authorId: string; visibility: string },
): Promise<boolean> {
  // The relationship is read only as far as the rule needs it.
  if (post.authorId === userId || post.visibility === 'private') return mayRead(userId, post, NO_RELATION);
  if (await isBlockedEitherWay(wm, userId, post.authorId))
    return mayRead(userId, post, { ...NO_RELATION, blocked: true });
  const connected = post.visibility === 'connections' && (await areConnected(wm, userId, post.authorId));
  return mayRead(userId, post, { ...NO_RELATION, connected });
}

/**
 * Loads a live post the member may see. A post they may not see answers exactly like a missing one (as GetPost
 * does), so its id is never confirmed to exist.
 */
export async function loadVisiblePost(wm: WriteModel, userId: string, id: string): Promise<PostDoc> {
  const post = await loadLivePost(wm, id);
  if (!(await canSee(wm, userId, post))) throw notFound(`post "${id}" not found`);
  return post;
}

export async function loadRelationship(wm: WriteModel, id: string): Promise<RelationshipDoc | null> {
  return wm.relationships.findOne({ _id: id });
}

export function staleVersion(what: string, expected: number, current: number): DomainError {
  return new DomainError(
    'conflict',
    `${what} is at version ${current}, not the expected ${expected}; re-read and retry`,
    'VERSION_CONFLICT',
  );
}

/**
 * Commits an aggregate's first event (version 1). The aggregate id derives from the request, so a version conflict
 * means it already exists: ALREADY_EXISTS with the given message and reason.
 */
export async function commitFirst(
  committer: Committer,
  meta: CommandMeta,
  ev: Omit<NewEvent, 'version'>,
  taken: { message: string; reason: string },
): Promise<CommandResult> {
  try {
    return await committer.commit(meta, { ...ev, version: 1 });
  } catch (err) {
    if (err instanceof VersionConflict) throw new DomainError('already_exists', taken.message, taken.reason);
    throw err;
  }
}

/**
 * Runs a read-check-commit step, re-reading on a version conflict. Commands without an expected version are
 * retried a few times; the caller sees ABORTED only under sustained contention.
 */
export async function withRetry<T>(step: () => Promise<T>, attempts = 8): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await step();
    } catch (err) {
      if (!(err instanceof VersionConflict)) throw err;
      if (i >= attempts) {
        throw new DomainError('conflict', 'too many concurrent changes to this record; retry', 'CONTENDED');
      }
      await new Promise((r) => setTimeout(r, 5 * i + Math.random() * 10));
    }
  }
}
