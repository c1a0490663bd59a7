import { DomainError, invalid, notFound } from '../../../domain/errors';
import type { EventType } from '../../../domain/events';
import { blockId, connectionId, followId, requireId } from '../../../domain/ids';
import { isBlockedEitherWay } from '../../../stores/relations';
import type { RelationshipDoc } from '../../../stores/write-model';
import type { CommandHandler, CommandResult } from '../commit';
import { type CommandMeta, type HandlerDeps, loadRelationship, loadUser, withRetry } from './context';

export interface PairCommand {
  /** The member acting: requester, follower, blocker, or the one removing. */
  actorId: string;
  /** The other member. */
  otherId: string;
}

export interface RespondCommand {
  addresseeId: string;
  connectionId: string;
  accept: boolean;
}

const CONNECTION_ID = /^c-([A-Za-z0-9_]{1,64})-([A-Za-z0-9_]{1,64})$/;

/** The steps every relationship command shares: validate the pair, refuse across a block, append the event. */
function createRelationshipSteps(deps: HandlerDeps) {
  const { wm, committer, limiter } = deps;

  /** Validates the pair and that both members exist. */
  const pair = async (cmd: PairCommand, actorField: string, otherField: string): Promise<void> => {
    requireId(cmd.actorId, actorField);
    requireId(cmd.otherId, otherField);
    if (cmd.actorId === cmd.otherId) throw invalid(`${actorField} and ${otherField} must differ`, 'SELF_RELATIONSHIP');
    await limiter.consume(cmd.actorId, 'default');
    await loadUser(wm, cmd.actorId, actorField.replace(/_id$/, ''));
    await loadUser(wm, cmd.otherId, otherField.replace(/_id$/, ''));
  };

  const notBlocked = async (a: string, b: string): Promise<void> => {
    if (await isBlockedEitherWay(wm, a, b)) {
      throw new DomainError('precondition', 'one of these members has blocked the other', 'BLOCKED');
    }
  };

  /** Appends the next event for a relationship document. */
  const change = (
    meta: CommandMeta,
    doc: RelationshipDoc | null,
    id: string,
    type: EventType,
    actorId: string,
    from: string,
    to: string,
    ids?: Record<string, string>,
  ): Promise<CommandResult> =>
    committer.commit(meta, {
      type,
      aggregateType: 'relationship',
      aggregateId: id,
      version: (doc?.version ?? 0) + 1,
      actorId,
      payload: { from, to },
      ...(ids ? { ids } : {}),
    });

  return { pair, notBlocked, change };
}

type RelationshipSteps = ReturnType<typeof createRelationshipSteps>;

export interface ConnectionHandlers {
  /** Creates a pending connection request from the requester to the addressee. */
  requestConnection: CommandHandler<PairCommand>;
  /** Accepts or declines a pending request; only its addressee may. */
  respondToConnection: CommandHandler<RespondCommand>;
  /** Ends an accepted connection, from either side. */
  removeConnection: CommandHandler<PairCommand>;
}

/** Connection requests, answers and removals. */
function createConnectionHandlers(
  { wm, limiter }: HandlerDeps,
  { pair, notBlocked, change }: RelationshipSteps,
): ConnectionHandlers {
  return {
    async requestConnection(meta: CommandMeta, cmd: PairCommand): Promise<CommandResult> {
      await pair(cmd, 'requester_id', 'addressee_id');
      await notBlocked(cmd.actorId, cmd.otherId);
      const id = connectionId(cmd.actorId, cmd.otherId);
      return withRetry(async () => {
        const doc = await loadRelationship(wm, id);
        if (doc?.active && doc.status === 'accepted') {
          throw new DomainError('already_exists', 'these members are already connected', 'ALREADY_CONNECTED');
        }
        if (doc?.active && doc.status === 'pending') {
          throw new DomainError('already_exists', 'a connection request is already pending', 'ALREADY_PENDING');
        }
        return change(meta, doc, id, 'ConnectionRequested', cmd.actorId, cmd.actorId, cmd.otherId, {
          connectionId: id,
        });
      });
    },

    async respondToConnection(meta: CommandMeta, cmd: RespondCommand): Promise<CommandResult> {
      requireId(cmd.addresseeId, 'addressee_id');
      if (!cmd.connectionId) throw invalid('connection_id is required', 'MISSING_FIELD');
      const m = CONNECTION_ID.exec(cmd.connectionId);
      if (!m || m[1] >= m[2]) throw invalid('connection_id is malformed', 'MALFORMED_ID');
      await limiter.consume(cmd.addresseeId, 'default');
      return withRetry(async () => {
        const doc = await loadRelationship(wm, cmd.connectionId);
        if (!doc) throw notFound(`connection "${cmd.connectionId}" not found`);
        if (doc.to !== cmd.addresseeId) {
          throw new DomainError(
            'permission',
            'only the addressee may respond to a connection request',
            'NOT_ADDRESSEE',
          );
        }
        if (!doc.active || doc.status !== 'pending') {
          throw new DomainError(
            'precondition',
            `the connection is ${doc.active ? doc.status : 'closed'}, not pending`,
            'NOT_PENDING',
          );
        }
        await notBlocked(doc.from, doc.to);
        const type = cmd.accept ? 'ConnectionAccepted' : 'ConnectionDeclined';
        return change(meta, doc, doc._id, type, cmd.addresseeId, doc.from, doc.to);
      });
    },

    async removeConnection(meta: CommandMeta, cmd: PairCommand): Promise<CommandResult> {
      await pair(cmd, 'user_id', 'other_user_id');
      const id = connectionId(cmd.actorId, cmd.otherId);
      return withRetry(async () => {
        const doc = await loadRelationship(wm, id);
        if (!doc?.active || doc.status !== 'accepted') throw notFound('these members are not connected');
        return change(meta, doc, id, 'ConnectionRemoved', cmd.actorId, cmd.actorId, cmd.otherId);
      });
    },
  };
}

export interface EdgeHandlers {
  /** Follows another member's public posts. */
  follow: CommandHandler<PairCommand>;
  unfollow: CommandHandler<PairCommand>;
  /** Blocks a member; the event also ends any connection and follow between the two, both ways. */
  block: CommandHandler<PairCommand>;
  unblock: CommandHandler<PairCommand>;
}

// What a follow or block that is already in the state asked for answers.
const alreadyFollowing = (): DomainError =>
  new DomainError('already_exists', 'already following this member', 'ALREADY_FOLLOWING');
const notFollowing = (): DomainError => notFound('not following this member');
const alreadyBlocked = (): DomainError => new DomainError('already_exists', 'already blocked', 'ALREADY_BLOCKED');
const notBlocking = (): DomainError => notFound('this member is not blocked');

/** Follows and blocks, each one edge in one direction. */
function createEdgeHandlers({ wm }: HandlerDeps, { pair, notBlocked, change }: RelationshipSteps): EdgeHandlers {
  /**
   * Turns the actor's edge to the other member on (`Followed`, `Blocked`) or off, re-reading on a conflict. An edge
   * already in that state answers `already`.
   */
  const setEdge = (
    meta: CommandMeta,
    cmd: PairCommand,
    id: string,
    type: EventType,
    on: boolean,
    already: () => DomainError,
  ): Promise<CommandResult> =>
    withRetry(async () => {
      const doc = await loadRelationship(wm, id);
      if (!!doc?.active === on) throw already();
      const ids = on ? { relationshipId: id } : undefined;
      return change(meta, doc, id, type, cmd.actorId, cmd.actorId, cmd.otherId, ids);
    });

  return {
    async follow(meta: CommandMeta, cmd: PairCommand): Promise<CommandResult> {
      await pair(cmd, 'follower_id', 'followee_id');
      await notBlocked(cmd.actorId, cmd.otherId);
      return setEdge(meta, cmd, followId(cmd.actorId, cmd.otherId), 'Followed', true, alreadyFollowing);
    },

    async unfollow(meta: CommandMeta, cmd: PairCommand): Promise<CommandResult> {
      await pair(cmd, 'follower_id', 'followee_id');
      return setEdge(meta, cmd, followId(cmd.actorId, cmd.otherId), 'Unfollowed', false, notFollowing);
    },

    async block(meta: CommandMeta, cmd: PairCommand): Promise<CommandResult> {
      await pair(cmd, 'blocker_id', 'blocked_id');
      return setEdge(meta, cmd, blockId(cmd.actorId, cmd.otherId), 'Blocked', true, alreadyBlocked);
    },

    async unblock(meta: CommandMeta, cmd: PairCommand): Promise<CommandResult> {
      await pair(cmd, 'blocker_id', 'blocked_id');
      return setEdge(meta, cmd, blockId(cmd.actorId, cmd.otherId), 'Unblocked', false, notBlocking);
    },
  };
}

/** Every relationship command: connections, follows and blocks. */
export type RelationshipHandlers = ConnectionHandlers & EdgeHandlers;

export function createRelationshipHandlers(deps: HandlerDeps): RelationshipHandlers {
  const steps = createRelationshipSteps(deps);
  return { ...createConnectionHandlers(deps, steps), ...createEdgeHandlers(deps, steps) };
}
