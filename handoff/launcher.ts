import type { Logger } from '../lib/logger';
import { metrics } from '../lib/metrics';
import type { EventDoc } from '../stores/write-model';

/**
 * Hands committed events to Temporal behind the command's answer: the command waits for its commit, never for the
 * workflow start, so the start no longer caps the command rate. Starts run a bounded number at a time; a failed
 * start is retried with backoff for about a minute, then left to the outbox Schedule, which starts every event
 * still pending (the event's status says what is done). Nothing here is the only copy of anything.
 */
export interface Launcher {
  launch(ev: EventDoc): void;
  /** Resolves when every event handed in so far is started or given up on (tests). */
  drain(): Promise<void>;
  /**
   * Shutdown: takes no more events, stops retrying, and waits up to `timeoutMs` for the starts in flight. What is
   * not started stays pending in the event store for the outbox Schedule.
   */
  close(timeoutMs: number): Promise<void>;
}

const FIRST_RETRY_MS = 200;
const MAX_RETRY_MS = 10_000;
const GIVE_UP_AFTER_MS = 60_000;

export function createLauncher(opts: {
  start: (ev: EventDoc) => Promise<void>;
  concurrency: number;
  maxQueued: number;
  logger: Logger;
}): Launcher {
  const queue: EventDoc[] = [];
  let running = 0;
  let idle: Array<() => void> = [];
  let closing = false;

  const settle = () => {
    metrics.handoffQueued.set(queue.length + running);
    if (queue.length || running) return;
    for (const resolve of idle) resolve();
    idle = [];
  };

  const startWithRetry = async (ev: EventDoc) => {
    const t0 = Date.now();
    for (let delay = FIRST_RETRY_MS; ; delay = Math.min(delay * 2, MAX_RETRY_MS)) {
      try {
        await opts.start(ev);
        return;
      } catch (err) {
        metrics.projectionStarts.inc({ outcome: 'failed' });
        if (closing || Date.now() - t0 > GIVE_UP_AFTER_MS) {
          opts.logger.error({ err, eventId: ev._id }, 'projection start still failing; the outbox Schedule takes over');
          return;
        }
        opts.logger.warn({ err, eventId: ev._id, retryInMs: delay }, 'projection start failed; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  };

  const pump = () => {
    while (running < opts.concurrency && queue.length && !closing) {
      const ev = queue.shift()!;
      running++;
      void startWithRetry(ev).finally(() => {
        running--;
        pump();
        settle();
      });
    }
    settle();
  };

  return {
    launch(ev) {
      if (closing) return;
      if (queue.length >= opts.maxQueued) {
        opts.logger.warn({ eventId: ev._id }, 'hand-off queue full; the outbox Schedule will start this event');
        return;
      }
      queue.push(ev);
      pump();
    },
    drain() {
      if (!queue.length && !running) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },
    async close(timeoutMs) {
      closing = true;
      queue.length = 0;
      settle();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([this.drain(), timeout]);
      clearTimeout(timer);
    },
  };
}
