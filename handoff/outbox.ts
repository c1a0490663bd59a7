import type { Client } from '@temporalio/client';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { metrics } from '../lib/metrics';
import { invalidateFeeds } from '../stores/feed-cache';
import type { EventDoc, WriteModel } from '../stores/write-model';
import { applyEvent } from './apply';
import { projectionInput, startProjection, startSearchIndexing } from './start';

/**
 * The transactional outbox without transactions. The event insert is the commit point; completing an event means
 * applying it to the write model, starting its projection workflow (id = event id, so a second start is a no-op)
 * and marking it `started`. Each step is idempotent, so the command handler and the sweep may both complete the
 * same event, in any order, any number of times.
 */
export interface Outbox {
  complete(ev: EventDoc): Promise<void>;
  /** Completes events still `pending` after `olderThanMs`; returns how many it completed. */
  sweep(olderThanMs: number): Promise<number>;
}

export interface OutboxDeps {
  wm: WriteModel;
  temporal: Client;
  config: Pick<Config, 'TASK_QUEUE_PREFIX' | 'FAULT_INJECTION' | 'PROJECTION_TIMEOUT_MS'>;
  logger: Logger;
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

export function createOutbox({ wm, temporal, config, logger }: OutboxDeps): Outbox {
  const complete = async (ev: EventDoc): Promise<void> => {
    await applyEvent(wm, ev);
    await invalidateForReaders(wm, ev);
    if (config.FAULT_INJECTION === 'exit-after-commit') {
      logger.warn({ eventId: ev._id }, 'fault injection: exiting between commit and workflow start');
      process.exit(137);
    }
    if (ev.status !== 'pending') return;
    await startProjection(temporal, ev, config);
    await startSearchIndexing(temporal, ev, config);
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

  return { complete, sweep };
}
