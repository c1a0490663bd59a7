import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, type SearchAttributePair } from '@temporalio/common';
import type { Config } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import { metrics } from '../../lib/metrics';
import type { EventDoc, WriteModel } from '../../stores/write-model';
import { PROJECTIONS, SEARCH_ATTRIBUTES, TASK_QUEUES } from '../../workflows/shared';
import { applyEvent } from './apply';
import { invalidateFeeds } from '../../stores/feed-cache';
import type { ProjectionInput } from '../../workflows/contracts/projection';
import type { ProjectionRestart } from '../../workflows/contracts/operations';

/**
 * The transactional outbox without transactions. The event insert is the commit point; completing an event means
 * applying it to the write model, starting its projection workflow (id = event id, so a second start is a no-op)
 * and marking it `started`. Each step is idempotent, so the command handler and the sweeper may both complete the
 * same event, in any order, any number of times.
 */
export interface Outbox {
  complete(ev: EventDoc): Promise<void>;
  /** Completes events still `pending` after `olderThanMs`; returns how many it completed. */
  sweep(olderThanMs: number): Promise<number>;
  /** Runs sweep on an interval until the returned stop function is called. */
  startSweeper(intervalMs: number, olderThanMs: number): () => Promise<void>;
}

export interface OutboxDeps {
  wm: WriteModel;
  temporal: Client;
  config: Pick<Config, 'TASK_QUEUE_PREFIX' | 'FAULT_INJECTION' | 'PROJECTION_TIMEOUT_MS'>;
  logger: Logger;
}

export function projectionInput(ev: EventDoc): ProjectionInput {
  const p = ev.payload;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
  const postId = ev.aggregateType === 'post' ? ev.aggregateId : str(p.postId);
  return {
    eventId: ev._id,
    type: ev.type,
    aggregateId: ev.aggregateId,
    version: ev.aggregateVersion,
    acceptedAt: ev.at.toISOString(),
    actorId: ev.actorId,
    ...(str(p.to) ? { subjectId: str(p.to) } : {}),
    ...(postId ? { postId } : {}),
  };
}

function searchAttributes(ev: EventDoc, input: ProjectionInput): SearchAttributePair[] {
  const route = PROJECTIONS[ev.type];
  const pairs: SearchAttributePair[] = [{ key: SEARCH_ATTRIBUTES.feedOperation, value: route?.kind ?? 'none' }];
  const authorId = ev.aggregateType === 'post' ? String(ev.payload.authorId) : (input.subjectId ?? input.actorId);
  if (input.postId) pairs.push({ key: SEARCH_ATTRIBUTES.postId, value: input.postId });
  pairs.push({ key: SEARCH_ATTRIBUTES.authorId, value: authorId });
  // The member whose feed changes, where a single one does.
  if (ev.aggregateType === 'relationship' || ev.aggregateType === 'engagement') {
    pairs.push({ key: SEARCH_ATTRIBUTES.viewerId, value: input.actorId });
  }
  return pairs;
}

/**
 * Changes that can hide a post from a viewer must reach cached pages at once, before any projection runs: a
 * delete or edit names the post, a block, removal or unfollow names both members.
 */
async function invalidateForReaders(wm: WriteModel, ev: EventDoc): Promise<void> {
  const db = wm.events.db;
  if (ev.type === 'PostDeleted' || ev.type === 'PostUpdated') await invalidateFeeds(db, [], { postId: ev.aggregateId });
  if (ev.type === 'Blocked' || ev.type === 'ConnectionRemoved' || ev.type === 'Unfollowed') {
    await invalidateFeeds(db, [String(ev.payload.from), String(ev.payload.to)]);
  }
}

/**
 * How an event's projection starts: the event id as workflow id, its route's type and queue, the search attributes
 * operators find it by. Null for events that project nothing. A failed projection is started again the same way.
 */
export function projectionStart(
  ev: EventDoc,
  config: Pick<Config, 'TASK_QUEUE_PREFIX' | 'PROJECTION_TIMEOUT_MS'>,
): ProjectionRestart | null {
  const route = PROJECTIONS[ev.type];
  if (!route) return null;
  const input = projectionInput(ev);
  return {
    workflowId: ev._id,
    workflowType: route.workflowType,
    taskQueue: config.TASK_QUEUE_PREFIX + TASK_QUEUES[route.queue],
    args: [input],
    searchAttributes: Object.fromEntries(searchAttributes(ev, input).map((p) => [p.key.name, String(p.value)])),
    executionTimeoutMs: config.PROJECTION_TIMEOUT_MS,
  };
}

export function createOutbox({ wm, temporal, config, logger }: OutboxDeps): Outbox {
  const startProjection = async (ev: EventDoc): Promise<void> => {
    const start = projectionStart(ev, config);
    if (!start) return;
    try {
      await temporal.workflow.start(start.workflowType, {
        taskQueue: start.taskQueue,
        workflowId: start.workflowId,
        args: start.args,
        // A finished projection is never re-run by a late duplicate start; a failed one may be started again.
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        typedSearchAttributes: searchAttributes(ev, start.args[0]),
        ...(start.executionTimeoutMs ? { workflowExecutionTimeout: start.executionTimeoutMs } : {}),
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  };

  const complete = async (ev: EventDoc): Promise<void> => {
    await applyEvent(wm, ev);
    await invalidateForReaders(wm, ev);
    if (config.FAULT_INJECTION === 'exit-after-commit') {
      logger.warn({ eventId: ev._id }, 'fault injection: exiting between commit and workflow start');
      process.exit(137);
    }
    if (ev.status !== 'pending') return;
    await startProjection(ev);
    await wm.events.updateOne(
      { _id: ev._id, status: 'pending' },
      { $set: { status: 'started', startedAt: new Date() } },
    );
  };

  const sweep = async (olderThanMs: number): Promise<number> => {
    const cutoff = new Date(Date.now() - olderThanMs);
    metrics.outboxPending.set(await wm.events.countDocuments({ status: 'pending' }));
    const pending = await wm.events
      .find({ status: 'pending', at: { $lte: cutoff } })
      .sort({ at: 1 })
      .limit(500)
      .toArray();
    let done = 0;
    for (const ev of pending) {
      const ids = { eventId: ev._id, workflowId: ev.workflowId, postId: projectionInput(ev).postId };
      try {
        await complete(ev);
        done++;
        logger.info(ids, 'outbox sweeper started a pending projection');
      } catch (err) {
        logger.error({ err, ...ids }, 'outbox sweeper could not complete event; will retry');
      }
    }
    return done;
  };

  const startSweeper = (intervalMs: number, olderThanMs: number): (() => Promise<void>) => {
    let running: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      running = running.then(() => sweep(olderThanMs)).catch((err) => logger.error({ err }, 'outbox sweep failed'));
    }, intervalMs);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await running;
    };
  };

  return { complete, sweep, startSweeper };
}
