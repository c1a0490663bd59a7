import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../../lib/logger';
import { metrics } from '../../lib/metrics';
import { type FeedCacheKeys, parseEngagement } from '../../stores/feed-cache';
import type { EngagementCounts } from '../../stores/read-model';
import { compareIds, type InvalidationChannel } from './channel';
import type { RankedEntry, ViewerState } from './entries';

/**
 * The feed cache: L1 is an in-process LRU of sessions, L2 is Redis, shared by every query process. Both are proven
 * fresh before use: a session records the generations it was built at (the viewer's feed and relationships, the
 * pull-author set) and the newest post event its process had seen; L2 checks the generations in the same read
 * that fetches it, L1 checks the invalidation channel's hot set. Nothing is served while the channel is not
 * caught up or Redis is unreachable: the reader then assembles pages from the read models alone.
 */

/** What a session was built against. `seq` is the posts-stream id its process had applied when it started. */
export interface Stamps {
  gen: string;
  relGen: string;
  pullGen: string;
  seq: string;
}

/** A ranked window computed once at a snapshot time; pages are slices of it (no repeats, no gaps). */
export interface FeedSession {
  id: string;
  viewerId: string;
  snapshot: number;
  items: RankedEntry[];
  /** True when the window ended because candidates ran out, not because it was full. */
  complete: boolean;
  createdAt: number;
  stamps: Stamps;
  pullFollows: string[];
}

export type CacheTier = 'l1' | 'l2' | 'miss' | 'bypass' | 'unavailable';

export interface Opened {
  tier: CacheTier;
  session?: FeedSession;
  /** The viewer's cached state, when still valid. */
  state?: ViewerState;
  /** Set when the cache is usable: what a session built now is stamped with. */
  stamps?: Stamps;
}

/** The seed's activity-based TTLs: the more a member reads, the fresher their cached feed must be. */
export const ACTIVITY_TTL_MS = { high: 2 * 60_000, medium: 5 * 60_000, low: 15 * 60_000 } as const;
const STATE_TTL_MS = 3_600_000;

export function newSessionId(): string {
  return randomBytes(9).toString('base64url');
}

export interface FeedCacheDeps {
  redis: Redis;
  keys: FeedCacheKeys;
  channel: InvalidationChannel;
  logger: Logger;
  /** Session caching (L1 and L2); without it every first page is built (the per-viewer state stays cached). */
  sessions: boolean;
  maxEntries: number;
  sessionMaxAgeMs: number;
}

/** The cache's process-local state: the L1 sessions, the viewers' activity, and whether Redis answers. */
function createCacheState(deps: FeedCacheDeps) {
  const { channel, logger } = deps;
  const l1 = new LRUCache<string, FeedSession & { epoch: number }>({ max: deps.maxEntries });
  const currentByViewer = new LRUCache<string, string>({ max: deps.maxEntries });
  const reads = new LRUCache<string, number[]>({ max: deps.maxEntries * 2 });
  let down = false;

  const ttlFor = (viewerId: string): number => {
    const now = Date.now();
    const recent = (reads.get(viewerId) ?? []).filter((t) => now - t < 3_600_000);
    recent.push(now);
    reads.set(viewerId, recent.slice(-50));
    if (recent.length >= 20) return ACTIVITY_TTL_MS.high;
    if (recent.length >= 5) return ACTIVITY_TTL_MS.medium;
    return ACTIVITY_TTL_MS.low;
  };
  const unavailable = (err?: unknown): Opened => {
    metrics.feedCacheBypassed.inc();
    counters.unavailable++;
    if (err && !down) logger.warn({ err: String(err) }, 'feed cache unreachable: serving feeds from the read models');
    if (err) down = true;
    return { tier: 'unavailable' };
  };
  const reachable = () => {
    if (down) logger.info('feed cache reachable again: caching resumes');
    down = false;
  };
  /** Post events since the build that touch what the session shows: edits, profile changes, pull posts. */
  const staleByPosts = (s: FeedSession): boolean =>
    channel.newer('pullset', '', s.stamps.seq) ||
    s.pullFollows.some((a) => channel.newer('pull', a, s.stamps.seq)) ||
    s.items.some(
      (i) => channel.newer('edit', i.postId, s.stamps.seq) || channel.newer('author', i.authorId, s.stamps.seq),
    );
  const freshInL1 = (s: FeedSession & { epoch: number }): boolean => {
    const seen = channel.viewerId(s.viewerId);
    return s.epoch === channel.epoch && (seen === undefined || compareIds(seen, s.stamps.gen) <= 0) && !staleByPosts(s);
  };
  const parse = <T>(raw: string | null | undefined): T | undefined => (raw ? (JSON.parse(raw) as T) : undefined);
  const counters = { l1Hits: 0, l1Misses: 0, l2Hits: 0, l2Misses: 0, unavailable: 0 };
  const hit = (level: 'l1' | 'l2', ok: boolean) => {
    metrics.cache.inc({ level, result: ok ? 'hit' : 'miss' });
    counters[`${level}${ok ? 'Hits' : 'Misses'}`]++;
  };
  return { l1, currentByViewer, ttlFor, unavailable, reachable, staleByPosts, freshInL1, parse, counters, hit };
}

type CacheState = ReturnType<typeof createCacheState>;

async function openSession(deps: FeedCacheDeps, st: CacheState, viewerId: string, fresh: boolean): Promise<Opened> {
  const { redis, keys, channel } = deps;
  const { l1, currentByViewer, ttlFor, unavailable, reachable, staleByPosts, freshInL1, parse, hit } = st;
  const ttl = ttlFor(viewerId);
  if (!channel.proven) return unavailable();
  const useSessions = deps.sessions && !fresh;
  if (useSessions) {
    const sid = currentByViewer.get(viewerId);
    const s = sid ? l1.get(sid) : undefined;
    const ok = !!s && freshInL1(s);
    hit('l1', ok);
    if (ok) return { tier: 'l1', session: s };
  }
  const seq = channel.postsSeen;
  let raw: Array<string | null>;
  try {
    raw = await redis.mget(
      keys.gen(viewerId),
      keys.relGen(viewerId),
      keys.pullGen,
      keys.state(viewerId),
      useSessions ? keys.current(viewerId) : keys.gen(viewerId),
    );
  } catch (err) {
    return unavailable(err);
  }
  reachable();
  const stamps: Stamps = { gen: raw[0] ?? '0', relGen: raw[1] ?? '0', pullGen: raw[2] ?? '0', seq };
  const state = parse<ViewerState>(raw[3]);
  const validState = state && state.relGen === stamps.relGen && state.pullGen === stamps.pullGen ? state : undefined;
  const s = useSessions ? parse<FeedSession>(raw[4]) : undefined;
  const valid =
    !!s &&
    s.stamps.gen === stamps.gen &&
    s.stamps.relGen === stamps.relGen &&
    s.stamps.pullGen === stamps.pullGen &&
    !staleByPosts(s);
  if (useSessions) hit('l2', valid);
  if (s && valid) {
    l1.set(s.id, { ...s, epoch: channel.epoch }, { ttl });
    currentByViewer.set(viewerId, s.id, { ttl });
    return { tier: 'l2', session: s, state: validState, stamps };
  }
  return { tier: fresh ? 'bypass' : 'miss', state: validState, stamps };
}

/** The feed session cache: an in-process tier over Redis, trusted only while the invalidation channel proves it. */
export interface FeedCache {
  /** Lookups by tier since start (tests and benchmarks read them; the metrics carry the same). */
  readonly counters: { l1Hits: number; l1Misses: number; l2Hits: number; l2Misses: number; unavailable: number };
  /**
   * One read (at most) for a first page: the viewer's current session if it is still fresh, their state, and
   * the stamps a new session gets. `fresh` skips cached sessions (after a consistency wait).
   */
  open(viewerId: string, fresh: boolean): Promise<Opened>;
  /**
   * A session by id, for later pages (open sessions outlive invalidation so paging stays stable), with the
   * viewer's current relationship generation: when it moved, the caller re-checks safety against the write model.
   */
  byId(id: string, viewerId: string): Promise<{ session?: FeedSession; relGen?: string }>;
  /**
   * Stores a new session (and the state it was built with, when derived now) and reads the page's engagement
   * counts, in one pipeline. Never throws: a cache that cannot be written is only a slower next page.
   */
  save(
    session: FeedSession,
    opts: { current: boolean; state?: ViewerState; engagementIds?: string[] },
  ): Promise<Map<string, EngagementCounts> | undefined>;
  /** Cached engagement counts by post id; posts without counts in the cache are absent. */
  engagement(ids: string[]): Promise<Map<string, EngagementCounts> | undefined>;
  /** A post event the hot set knows: deleted posts are hidden from every page. */
  deleted(postId: string): boolean;
  readonly proven: boolean;
  /** Post events applied so far: the `seq` of anything derived now. */
  readonly seq: string;
}

export function createFeedCache(deps: FeedCacheDeps): FeedCache {
  const { redis, keys, channel, logger } = deps;
  const state = createCacheState(deps);
  const { l1, currentByViewer, ttlFor, unavailable, reachable, parse, counters } = state;

  return {
    counters,
    async open(viewerId: string, fresh: boolean): Promise<Opened> {
      return openSession(deps, state, viewerId, fresh);
    },

    async byId(id: string, viewerId: string): Promise<{ session?: FeedSession; relGen?: string }> {
      if (!channel.proven) return {};
      try {
        const [body, relGen] = await redis.mget(keys.session(id), keys.relGen(viewerId));
        reachable();
        const local = l1.get(id);
        return { session: local ?? parse<FeedSession>(body), relGen: relGen ?? '0' };
      } catch (err) {
        unavailable(err);
        return {};
      }
    },

    async save(
      session: FeedSession,
      opts: { current: boolean; state?: ViewerState; engagementIds?: string[] },
    ): Promise<Map<string, EngagementCounts> | undefined> {
      const ttl = ttlFor(session.viewerId);
      if (opts.current && deps.sessions) {
        l1.set(session.id, { ...session, epoch: channel.epoch }, { ttl });
        currentByViewer.set(session.viewerId, session.id, { ttl });
      }
      const p = redis.pipeline();
      const body = JSON.stringify(session);
      p.set(keys.session(session.id), body, 'PX', deps.sessionMaxAgeMs);
      if (opts.current && deps.sessions) p.set(keys.current(session.viewerId), body, 'PX', ttl);
      if (opts.state) p.set(keys.state(session.viewerId), JSON.stringify(opts.state), 'PX', STATE_TTL_MS);
      const ids = opts.engagementIds ?? [];
      if (ids.length) p.hmget(keys.engagement, ...ids);
      try {
        const res = await p.exec();
        if (!ids.length || !res) return undefined;
        return engagementMap(ids, res[res.length - 1][1] as Array<string | null>);
      } catch (err) {
        logger.warn({ err: String(err) }, 'feed cache write failed');
        return undefined;
      }
    },

    async engagement(ids: string[]): Promise<Map<string, EngagementCounts> | undefined> {
      if (!ids.length) return new Map();
      try {
        return engagementMap(ids, await redis.hmget(keys.engagement, ...ids));
      } catch {
        return undefined;
      }
    },

    deleted: (postId: string) => channel.deleted(postId),
    get proven() {
      return channel.proven;
    },
    get seq() {
      return channel.postsSeen;
    },
  };
}

function engagementMap(ids: string[], values: Array<string | null>): Map<string, EngagementCounts> {
  const out = new Map<string, EngagementCounts>();
  ids.forEach((id, i) => {
    const e = parseEngagement(values[i]);
    if (e) out.set(id, e);
  });
  return out;
}
