import type { Client } from '@temporalio/client';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { metrics } from '../lib/metrics';
import { invalidateFeeds } from '../stores/feed-cache';
import type { EventDoc, WriteModel } from '../stores/write-model';
import { applyEvent } from './apply';
import { createLauncher } from './launcher';
import { projectionInput, startProjection, startSearchIndexing } from './start';

/**
 * The transactional outbox without transactions. The event insert is the commit point; completing an event means
 * applying it to the write model, starting its projection workflow (id = event id, so a second start is a no-op)
 * and marking it `started`. Each step is idempotent, so the command handler and the sweep may both complete the
 * same event, in any order, any number of times.
 */
export interface Outbox {
  /**
   * The command path: applies the committed event to the write model and invalidates what it hides, then hands it
   * to Temporal in the background (handoff/launcher.ts). The command answers without waiting for the start.
   */
  accept(ev: EventDoc): Promise<void>;
  /** Applies, starts and marks started, all awaited: the sweep and replays of a request. */
  complete(ev: EventDoc): Promise<void>;
  /** Waits for the background starts handed in so far (tests). */
  drain(): Promise<void>;
  /** Shutdown: no more background starts; waits up to `timeoutMs` for those in flight (the rest stay pending). */
  close(timeoutMs: number): Promise<void>;
  /** Completes events still `pending` after `olderThanMs`; returns how many it completed. */
  sweep(olderThanMs: number): Promise<number>;
}

export interface OutboxDeps {
  wm: WriteModel;
  temporal: Client;
  config: Pick<
    Config,
    'TASK_QUEUE_PREFIX' | 'FAULT_INJECTION' | 'PROJECTION_TIMEOUT_MS' | 'HANDOFF_CONCURRENCY' | 'HANDOFF_QUEUE_MAX'
  >;
  /** The client shares a NativeConnection with first-hop workers, so starts may be eager. */
  eager?: boolean;
  logger: Logger;
}

const RELATION_EVENTS = new Set([
  'Blocked',
  'Unblocked',
  'ConnectionAccepted',
  'ConnectionRemoved',
  'Followed',
  'Unfollowed',
]);

/**
 * Changes that can hide a post from a viewer must reach cached pages at once, before any projection runs: a
 * delete or edit names the post; a relationship change names both members and their cached per-viewer state.
 */
async function invalidateForReaders(wm: WriteModel, ev: EventDoc): Promise<void> {
  const db = wm.events.db;
  if (ev.type === 'PostDeleted' || ev.type === 'PostUpdated') {
    await invalidateFeeds(db, [], { postId: ev.aggregateId, deleted: ev.type === 'PostDeleted' });
  }
  if (RELATION_EVENTS.has(ev.type)) {
    await invalidateFeeds(db, [String(ev.payload.from), String(ev.payload.to)], { relations: true });
  }
}

export function createOutbox({ wm, temporal, config, logger, eager }: OutboxDeps): Outbox {
  const startConfig = { ...config, eager: !!eager };
  /** Starts the projection and records it; both steps are idempotent. */
  const start = async (ev: EventDoc): Promise<void> => {
    const outcome = await startProjection(temporal, ev, startConfig);
    if (outcome !== 'none') metrics.projectionStarts.inc({ outcome });
    await startSearchIndexing(temporal, ev, config);
    await wm.events.updateOne(
      { _id: ev._id, status: 'pending' },
      { $set: { status: 'started', startedAt: new Date() } },
    );
  };
  const launcher = createLauncher({
    start,
    concurrency: config.HANDOFF_CONCURRENCY,
    maxQueued: config.HANDOFF_QUEUE_MAX,
    logger,
  });

  /** The write-model side of an accepted event, before anything reaches Temporal. */
  const apply = async (ev: EventDoc): Promise<void> => {
    await applyEvent(wm, ev);
    // Early, for cached pages: the projection invalidates again (and retries until it can), so a Redis outage
    // must not fail the command.
    await invalidateForReaders(wm, ev).catch((err: unknown) =>
      logger.warn({ err: String(err), eventId: ev._id }, 'feed cache invalidation deferred to the projection'),
    );
    if (config.FAULT_INJECTION === 'exit-after-commit') {
      logger.warn({ eventId: ev._id }, 'fault injection: exiting between commit and workflow start');
      process.exit(137);
    }
  };

  const accept = async (ev: EventDoc): Promise<void> => {
    await apply(ev);
    if (ev.status === 'pending') launcher.launch(ev);
  };

  const complete = async (ev: EventDoc): Promise<void> => {
    await apply(ev);
    if (ev.status === 'pending') await start(ev);
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

  return { accept, complete, sweep, drain: () => launcher.drain(), close: (ms) => launcher.close(ms) };
}
