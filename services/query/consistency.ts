import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import { invalid } from '../../domain/errors';
import { decodeConsistencyToken } from '../../domain/events';
import { feedItemId } from '../../domain/ids';
import { readModel } from '../../stores/read-model';
import { writeModel } from '../../stores/write-model';

export interface ConsistencyWaiter {
  /** Validates the token before any waiting. */
  parse(token: string): string;
  /** Resolves true when projected, false when `waitMs` ran out first. */
  wait(viewerId: string, eventId: string, waitMs: number): Promise<boolean>;
}

/**
 * Read-your-writes on request: waits until the event behind a consistency token is projected for this viewer.
 * A post event counts as projected for the viewer once their feed item reflects it; any event counts once its
 * projection workflow has closed.
 */
export function createConsistencyWaiter(deps: { db: Db; temporal: Client; pollMs?: number }): ConsistencyWaiter {
  const wm = writeModel(deps.db);
  const feed = readModel(deps.db).feedItems;
  const poll = deps.pollMs ?? 20;

  const closed = async (workflowId: string): Promise<boolean> => {
    try {
      const d = await deps.temporal.workflow.getHandle(workflowId).describe();
      return d.status.name !== 'RUNNING';
    } catch {
      return false;
    }
  };

  return {
    parse(token: string): string {
      const eventId = decodeConsistencyToken(token);
      if (!eventId) throw invalid('min_consistency_token is malformed', 'INVALID_CONSISTENCY_TOKEN');
      return eventId;
    },

    async wait(viewerId: string, eventId: string, waitMs: number): Promise<boolean> {
      const until = Date.now() + waitMs;
      for (;;) {
        const ev = await wm.events.findOne({ _id: eventId });
        if (ev) {
          if (ev.status === 'none') return true;
          if (ev.aggregateType === 'post' && ev.type !== 'PostDeleted') {
            const item = await feed.findOne(
              { _id: feedItemId(viewerId, ev.aggregateId) },
              { projection: { version: 1 } },
            );
            if (item && item.version >= ev.aggregateVersion) return true;
          }
          if (ev.type === 'PostDeleted') {
            const item = await feed.findOne({ _id: feedItemId(viewerId, ev.aggregateId) }, { projection: { _id: 1 } });
            if (!item) return true;
          }
          if (ev.status === 'started' && (await closed(ev.workflowId ?? ev._id))) return true;
        } else if (Date.now() > until) {
          throw invalid('min_consistency_token refers to no known event', 'UNKNOWN_CONSISTENCY_TOKEN');
        }
        if (Date.now() >= until) return false;
        await new Promise((r) => setTimeout(r, poll));
      }
    },
  };
}
