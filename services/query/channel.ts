import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../../lib/logger';
import { metrics } from '../../lib/metrics';
import { type FeedCacheKeys, POST_STREAM_KEEP_MS, type PostEventKind } from '../../stores/feed-cache';

/**
 * The read side of the invalidation channel: one blocking XREAD over the viewers and posts streams (no polling;
 * an idle process sends one command and waits). It keeps the process's hot set: the newest invalidation id seen
 * per viewer (for the in-process cache, L1) and the recent deletes, edits, profile changes and pull-author posts
 * (for every cached page). It is `proven` only while it has read everything up to the streams' ends:
 * - at start it replays the posts stream's whole window (deletes and edits of the last two hours) and starts the
 *   viewers stream at its end (L1 is empty then);
 * - after a disconnect it resumes from the last ids it read, unless the stream was trimmed past them: then it drops
 *   what it cannot prove (a new epoch empties L1; a posts gap replays the window again).
 * While not proven, readers use no cache and read the write model for safety, as with Redis down.
 */

/** Stream ids ("ms-seq") compare as pairs. */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am - bm || (as ?? 0) - (bs ?? 0);
}

type Entry = [id: string, fields: string[]];
type XReadReply = Array<[key: string, entries: Entry[]]> | null;

const BATCH = 1_000;

function fieldsOf(f: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < f.length; i += 2) out[f[i]] = f[i + 1];
  return out;
}

/** True when entries after `since` were trimmed away (Redis 7 keeps the largest deleted id). */
async function gapAfter(redis: Redis, key: string, since: string): Promise<boolean> {
  if (since === '$' || since === '0-0') return false;
  try {
    const info = (await redis.call('XINFO', 'STREAM', key)) as unknown[];
    const i = info.indexOf('max-deleted-entry-id');
    return i >= 0 && compareIds(String(info[i + 1]), since) > 0;
  } catch (err) {
    if (/no such key/i.test(String(err))) return false;
    throw err;
  }
}

/** What this process has read of the two streams, and how it resumes after a reconnect or a gap. */
function createStreamState(redis: Redis, keys: FeedCacheKeys, logger: Logger) {
  const viewerIds = new LRUCache<string, string>({ max: 200_000 });
  const postEvents: Record<PostEventKind, Map<string, string>> = {
    edit: new Map(),
    delete: new Map(),
    author: new Map(),
    pull: new Map(),
    pullset: new Map(),
  };
  const st = { proven: false, epoch: 0, lastViewers: '$', lastPosts: '0-0', stopped: false, reads: 0, runId: '' };

  const applyViewers = (entries: Entry[]) => {
    for (const [id, f] of entries) {
      for (const v of (fieldsOf(f).v ?? '').split(',')) if (v) viewerIds.set(v, id);
      st.lastViewers = id;
    }
  };
  const applyPosts = (entries: Entry[]) => {
    const cutoff = Date.now() - POST_STREAM_KEEP_MS;
    for (const [id, f] of entries) {
      const { k, i } = fieldsOf(f);
      const map = postEvents[k as PostEventKind];
      if (map && i !== undefined) {
        map.delete(i);
        map.set(i, id);
      }
      st.lastPosts = id;
    }
    // Oldest first (re-set on update): drop what has left the stream's window.
    for (const map of Object.values(postEvents)) {
      for (const [k, id] of map) {
        if (Number(id.split('-')[0]) >= cutoff) break;
        map.delete(k);
      }
    }
  };

  /** Replays the posts stream's window into a fresh hot set. */
  const replayPosts = async () => {
    for (const map of Object.values(postEvents)) map.clear();
    let from = String(Date.now() - POST_STREAM_KEEP_MS);
    for (;;) {
      const page = (await redis.xrange(keys.posts, from, '+', 'COUNT', BATCH)) as Entry[];
      st.reads++;
      applyPosts(page);
      if (page.length < BATCH) return;
      from = `(${page[page.length - 1][0]}`;
    }
  };

  /** Where to resume after (re)connecting; drops what a gap makes unprovable. */
  const resume = async (first: boolean) => {
    // A restarted Redis starts empty (no persistence): nothing read before can be proven against it.
    const runId = /run_id:(\w+)/.exec(await redis.info('server'))?.[1] ?? '';
    const restarted = !first && runId !== st.runId;
    st.runId = runId;
    if (restarted) {
      logger.warn('feed cache Redis restarted: dropping the in-process feed cache');
      st.epoch++;
      viewerIds.clear();
    }
    if (first || restarted) {
      const last = (await redis.xrevrange(keys.viewers, '+', '-', 'COUNT', 1)) as Entry[];
      st.lastViewers = last[0]?.[0] ?? '0-0';
      await replayPosts();
      return;
    }
    if (await gapAfter(redis, keys.viewers, st.lastViewers)) {
      logger.warn('invalidation stream trimmed past this process: dropping its in-process feed cache');
      st.epoch++;
      viewerIds.clear();
      const last = (await redis.xrevrange(keys.viewers, '+', '-', 'COUNT', 1)) as Entry[];
      st.lastViewers = last[0]?.[0] ?? st.lastViewers;
    }
    if (await gapAfter(redis, keys.posts, st.lastPosts)) await replayPosts();
  };

  return { viewerIds, postEvents, st, applyViewers, applyPosts, resume };
}

type StreamState = ReturnType<typeof createStreamState>;

/** Reads both streams until stopped: without blocking until caught up (proven), then blocking; on loss, retries. */
async function followStreams(
  redis: Redis,
  keys: FeedCacheKeys,
  logger: Logger,
  streams: StreamState,
  pause: () => Promise<void>,
): Promise<void> {
  const { st } = streams;
  let first = true;
  while (!st.stopped) {
    try {
      await streams.resume(first);
      first = false;
      for (;;) {
        const args: Array<string | number> = ['COUNT', BATCH];
        // Until caught up, read without blocking: an empty answer proves nothing was missed.
        if (st.proven) args.push('BLOCK', 0);
        const reply = (await redis.call(
          'XREAD',
          ...args,
          'STREAMS',
          keys.viewers,
          keys.posts,
          st.lastViewers,
          st.lastPosts,
        )) as XReadReply;
        st.reads++;
        let n = 0;
        for (const [key, entries] of reply ?? []) {
          n = Math.max(n, entries.length);
          if (key === keys.viewers) streams.applyViewers(entries);
          else streams.applyPosts(entries);
        }
        if (!st.proven && n < BATCH) {
          st.proven = true;
          metrics.feedCacheAvailable.set(1);
          logger.info('feed cache invalidation channel caught up');
        }
        if (st.stopped) return;
      }
    } catch (err) {
      if (st.stopped) return;
      if (st.proven) logger.warn({ err: String(err) }, 'feed cache invalidation channel lost; serving uncached');
      st.proven = false;
      metrics.feedCacheAvailable.set(0);
      await pause();
    }
  }
}

/** The invalidation streams followed in the background: what in-process caches may still trust. */
export interface InvalidationChannel {
  /** True while every invalidation up to the streams' ends has been applied. */
  readonly proven: boolean;
  /** Changes when in-process entries can no longer be proven (a gap): older ones must go. */
  readonly epoch: number;
  /** The newest posts-stream id applied: a session built now has seen every post event up to it. */
  readonly postsSeen: string;
  /** Reads this channel has sent (one per batch of entries, none while idle). */
  readonly reads: number;
  /** The newest invalidation id applied for this viewer, if any since the channel started. */
  viewerId(viewerId: string): string | undefined;
  /** The id of the newest event of this kind about this post or author, when it is newer than `since`. */
  newer(kind: PostEventKind, subject: string, since: string): boolean;
  /** Deleted within the stream's window: hide it whatever a cache or a read model says. */
  deleted(postId: string): boolean;
  close(): Promise<void>;
}

export function createInvalidationChannel(redis: Redis, keys: FeedCacheKeys, logger: Logger): InvalidationChannel {
  const streams = createStreamState(redis, keys, logger);
  const { viewerIds, postEvents, st } = streams;
  let wake: (() => void) | undefined;
  const pause = (): Promise<void> =>
    new Promise<void>((r) => {
      wake = r;
      setTimeout(r, 250).unref();
    });

  redis.on('error', () => undefined); // reconnect attempts; the loop logs the outage once
  // A dropped connection rejects the blocked read; mark unproven at once rather than when the read fails.
  redis.on('close', () => {
    if (!st.stopped && st.proven) {
      st.proven = false;
      metrics.feedCacheAvailable.set(0);
    }
  });
  const running = followStreams(redis, keys, logger, streams, pause);

  return {
    get proven(): boolean {
      return st.proven;
    },
    get epoch(): number {
      return st.epoch;
    },
    get postsSeen(): string {
      return st.lastPosts;
    },
    get reads(): number {
      return st.reads;
    },
    viewerId(viewerId: string): string | undefined {
      return viewerIds.get(viewerId);
    },
    newer(kind: PostEventKind, subject: string, since: string): boolean {
      const id = postEvents[kind].get(subject);
      return id !== undefined && compareIds(id, since) > 0;
    },
    deleted(postId: string): boolean {
      return postEvents.delete.has(postId);
    },
    async close(): Promise<void> {
      st.stopped = true;
      redis.disconnect();
      wake?.();
      await running;
    },
  };
}
