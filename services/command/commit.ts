import { DomainError } from '../../domain/errors';
import { consistencyToken, eventIdFor, eventWorkflowId, type AggregateType, type EventType } from '../../domain/events';
import type { Outbox } from '../../handoff/index';
import type { Config } from '../../lib/config';
import { TASK_QUEUES } from '../../pipeline/queues';
import { PROJECTIONS } from '../../pipeline/routing';
import { isDuplicateKey } from '../../stores/mongo-errors';
import type { EventDoc, WriteModel } from '../../stores/write-model';

/** Who sent a command, and what makes a retry of it recognisable. */
export interface CommandMeta {
  caller: string;
  rpc: string;
  /** Empty when the caller gave none. */
  requestId: string;
  /** Hash of the request without its request_id. */
  requestHash: string;
}

export interface Receipt {
  eventId: string;
  version: number;
  consistencyToken: string;
  replayed: boolean;
}

export interface CommandResult {
  ids: Record<string, string>;
  receipt: Receipt;
}

/** One command handler: it judges the command for the caller and commits its event, or throws a DomainError. */
export type CommandHandler<C> = (meta: CommandMeta, cmd: C) => Promise<CommandResult>;

export interface NewEvent {
  type: EventType;
  aggregateType: AggregateType;
  aggregateId: string;
  version: number;
  actorId: string;
  payload: Record<string, unknown>;
  ids?: Record<string, string>;
}

/** Thrown when another command took this aggregate version first; handlers re-read and retry, or answer ABORTED. */
export class VersionConflict extends Error {
  constructor(readonly current: EventDoc | null) {
    super('version conflict');
  }
}

export interface Committer {
  commit(meta: CommandMeta, ev: NewEvent): Promise<CommandResult>;
  /** The original answer if this request id was already accepted (ALREADY_EXISTS if with another payload). */
  replayIfSeen(meta: CommandMeta): Promise<CommandResult | undefined>;
}

export const requestKeyOf = (meta: CommandMeta): string => `${meta.caller}/${meta.rpc}/${meta.requestId}`;

/** Request id → event id, read by `_id` so a retry is recognised without scanning the event store. */
interface RequestDoc {
  _id: string;
  eventId: string;
}

/** The answer to a repeat of an earlier request: its original result, once the request's payload is the same. */
async function replayEarlier(outbox: Outbox, existing: EventDoc, meta: CommandMeta): Promise<CommandResult> {
  if (existing.requestHash !== meta.requestHash) {
    throw new DomainError(
      'already_exists',
      `request_id "${meta.requestId}" was already used with a different payload`,
      'REQUEST_ID_REUSED',
    );
  }
  // The original may have died before finishing; finishing is idempotent.
  if (existing.status === 'pending') await outbox.complete(existing);
  const result = existing.result as unknown as CommandResult;
  return { ids: result.ids, receipt: { ...result.receipt, replayed: true } };
}

/**
 * Appends the event (the commit point), then completes it through the outbox. A repeat of an earlier request
 * (same request id and payload) answers the original result without writing; the same request id with another
 * payload is ALREADY_EXISTS.
 */
export function createCommitter(deps: {
  wm: WriteModel;
  outbox: Outbox;
  config: Pick<Config, 'TASK_QUEUE_PREFIX'>;
}): Committer {
  const { wm, outbox } = deps;
  const requests = wm.events.db.collection<RequestDoc>('command_requests');

  /** The event an earlier request with this key committed, if any. */
  const earlierEvent = async (requestKey: string): Promise<EventDoc | null> => {
    const req = await requests.findOne({ _id: requestKey });
    if (req) return wm.events.findOne({ _id: req.eventId });
    // The process may have died before recording the request; the unique index on events still has it.
    return null;
  };

  const replay = (existing: EventDoc, meta: CommandMeta): Promise<CommandResult> =>
    replayEarlier(outbox, existing, meta);

  return {
    async commit(meta, ne) {
      const eventId = eventIdFor(ne.aggregateType, ne.aggregateId, ne.version, ne.type);
      const route = PROJECTIONS[ne.type];
      const result: CommandResult = {
        ids: ne.ids ?? {},
        receipt: { eventId, version: ne.version, consistencyToken: consistencyToken(eventId), replayed: false },
      };
      const requestKey = meta.requestId ? requestKeyOf(meta) : eventId;
      const at = new Date();
      const ev: EventDoc = {
        _id: eventId,
        type: ne.type,
        aggregateType: ne.aggregateType,
        aggregateId: ne.aggregateId,
        aggregateVersion: ne.version,
        at,
        actorId: ne.actorId,
        caller: meta.caller,
        payload: ne.payload,
        ...(route
          ? {
              workflowId: eventWorkflowId(deps.config.TASK_QUEUE_PREFIX, eventId, at, 'projection'),
              workflowType: route.workflowType,
              taskQueue: deps.config.TASK_QUEUE_PREFIX + TASK_QUEUES[route.queue],
            }
          : {}),
        status: route ? 'pending' : 'none',
        requestKey,
        requestHash: meta.requestHash,
        result: result as unknown as Record<string, unknown>,
      };
      try {
        await wm.events.insertOne(ev);
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        if (meta.requestId) {
          const earlier = (await earlierEvent(requestKey)) ?? (await wm.events.findOne({ requestKey }));
          if (earlier) {
            await requests.updateOne({ _id: requestKey }, { $set: { eventId: earlier._id } }, { upsert: true });
            return replay(earlier, meta);
          }
        }
        const current = await wm.events.findOne({
          aggregateType: ne.aggregateType,
          aggregateId: ne.aggregateId,
          aggregateVersion: ne.version,
        });
        // Help a command that died mid-way, so the aggregate does not stay behind its event until the sweep.
        if (current?.status === 'pending' && Date.now() - current.at.getTime() > 2000) await outbox.complete(current);
        throw new VersionConflict(current);
      }
      if (meta.requestId) {
        await requests.insertOne({ _id: requestKey, eventId }).catch((err) => {
          if (!isDuplicateKey(err)) throw err;
        });
      }
      // Answered once committed and applied; the workflow start follows in the background.
      await outbox.accept(ev);
      return result;
    },

    async replayIfSeen(meta) {
      if (!meta.requestId) return undefined;
      const earlier = await earlierEvent(requestKeyOf(meta));
      return earlier ? replay(earlier, meta) : undefined;
    },
  };
}
