import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Collection, Db } from 'mongodb';
import { metrics } from '../../lib/metrics';
import { SESSIONS, timeBucket } from '../../stores/feed-cache';
import type { FeedEntryData, WindowEntry } from './entries';

/**
 * A feed session: the ranked candidate window computed once at a snapshot time. Pages are slices of it, so
 * inserts after the snapshot cannot shift later pages (no repeats, no gaps).
 */
export interface FeedSession {
  _id: string;
  viewerId: string;
  snapshot: number;
  entries: WindowEntry[];
  /** True when the window ended because candidates ran out, not because it was full. */
  complete: boolean;
  /** Only the current session serves new first pages; invalidation clears it. */
  current: boolean;
  createdAt: Date;
  /** In-process only (never stored): hydrated items and safety verdicts, valid until the viewer's next invalidation. */
  memo?: SessionMemo;
}

export interface SessionMemo {
  at: number;
  data: Map<string, FeedEntryData>;
  allowed: Map<string, boolean>;
}

/**
 * L2: the shared cache of precomputed sessions (first pages), read by `_id` only so it stays cheap on FerretDB.
 * A per-viewer pointer names the session that serves new first pages. A Redis implementation can replace this.
 */
export interface SessionStore {
  current(viewerId: string, maxAgeMs: number): Promise<FeedSession | undefined>;
  byId(id: string): Promise<FeedSession | undefined>;
  save(session: FeedSession): Promise<void>;
  /** Drops sessions and pointers older than maxAgeMs (no TTL indexes on FerretDB). */
  prune(maxAgeMs: number): Promise<number>;
}

export function newSessionId(): string {
  return randomBytes(9).toString('base64url');
}

interface CurrentPointer {
  _id: string;
  sessionId: string;
  createdAt: Date;
}

/** Sessions carry their creation minute, which pruning deletes by (an equality FerretDB serves from an index). */
const SESSION_BUCKET_MS = 60_000;
/** How far back the first prune of a process looks for expired buckets. */
const PRUNE_LOOKBACK_BUCKETS = 24 * 60;

type StoredSession = Omit<FeedSession, 'memo'> & { ageBucket: number };

export function createMongoSessionStore(db: Db): SessionStore & { ensureIndexes(): Promise<void> } {
  const sessions = db.collection<StoredSession>(SESSIONS);
  const pointers: Collection<CurrentPointer> = db.collection<CurrentPointer>('feed_current');
  let prunedThrough: number | undefined;
  return {
    async ensureIndexes() {
      await sessions.createIndex({ ageBucket: 1 }, { name: 'age_bucket' });
      await pointers.createIndex({ createdAt: 1 }, { name: 'age' });
    },
    async current(viewerId, maxAgeMs) {
      const ptr = await pointers.findOne({ _id: viewerId });
      if (!ptr || ptr.createdAt.getTime() < Date.now() - maxAgeMs) return undefined;
      return (await sessions.findOne({ _id: ptr.sessionId })) ?? undefined;
    },
    async byId(id) {
      return (await sessions.findOne({ _id: id })) ?? undefined;
    },
    async save(session) {
      const { memo: _memo, ...rest } = session;
      await sessions.insertOne({ ...rest, ageBucket: timeBucket(rest.createdAt.getTime(), SESSION_BUCKET_MS) });
      if (session.current) {
        await pointers.replaceOne(
          { _id: session.viewerId },
          { sessionId: session._id, createdAt: session.createdAt },
          { upsert: true },
        );
      }
    },
    async prune(maxAgeMs) {
      const cutoff = new Date(Date.now() - maxAgeMs);
      // Whole buckets only: the newest expired one is the bucket before the cutoff's.
      const last = timeBucket(cutoff.getTime(), SESSION_BUCKET_MS) - 1;
      let deleted = 0;
      for (let b = Math.max(prunedThrough ?? -Infinity, last - PRUNE_LOOKBACK_BUCKETS) + 1; b <= last; b++) {
        deleted += (await sessions.deleteMany({ ageBucket: b })).deletedCount;
        prunedThrough = b;
      }
      // One small document per viewer: a scan of these once a minute is cheap.
      await pointers.deleteMany({ createdAt: { $lt: cutoff } });
      return deleted;
    },
  };
}

export interface CacheCounters {
  l1Hits: number;
  l1Misses: number;
  l2Hits: number;
  l2Misses: number;
}

/** The seed's activity-based TTLs: the more a member reads, the fresher their cached feed must be. */
export const ACTIVITY_TTL_MS = { high: 2 * 60_000, medium: 5 * 60_000, low: 15 * 60_000 } as const;

/**
 * L1 in front of L2: an in-process LRU of sessions. The TTL of a viewer's entry follows their activity level
 * (reads in the last hour). Counters feed the metrics.
 */
export function createSessionCache(l2: SessionStore, opts: { maxEntries: number; enabled: boolean }) {
  const l1 = new LRUCache<string, FeedSession>({ max: opts.maxEntries, ttlAutopurge: false });
  const currentByViewer = new LRUCache<string, string>({ max: opts.maxEntries });
  const reads = new LRUCache<string, number[]>({ max: opts.maxEntries * 2 });
  // When each viewer's cached pages were last invalidated: sessions built before that no longer serve first pages.
  const invalidatedAt = new LRUCache<string, number>({ max: opts.maxEntries * 10, ttl: 30 * 60_000 });
  const fresh = (s: FeedSession): boolean => s.createdAt.getTime() > (invalidatedAt.get(s.viewerId) ?? 0);
  const counters: CacheCounters = { l1Hits: 0, l1Misses: 0, l2Hits: 0, l2Misses: 0 };

  const ttlFor = (viewerId: string): number => {
    const now = Date.now();
    const recent = (reads.get(viewerId) ?? []).filter((t) => now - t < 3_600_000);
    recent.push(now);
    reads.set(viewerId, recent.slice(-50));
    if (recent.length >= 20) return ACTIVITY_TTL_MS.high;
    if (recent.length >= 5) return ACTIVITY_TTL_MS.medium;
    return ACTIVITY_TTL_MS.low;
  };

  return {
    counters,
    /** The viewer's current session, from L1 then L2, or undefined (a miss). */
    async current(viewerId: string): Promise<FeedSession | undefined> {
      const ttl = ttlFor(viewerId);
      if (!opts.enabled) return undefined;
      const sid = currentByViewer.get(viewerId);
      const hit = sid ? l1.get(sid) : undefined;
      if (hit && fresh(hit)) {
        counters.l1Hits++;
        metrics.cache.inc({ level: 'l1', result: 'hit' });
        return hit;
      }
      counters.l1Misses++;
      metrics.cache.inc({ level: 'l1', result: 'miss' });
      const s = await l2.current(viewerId, ttl);
      if (s && fresh(s)) {
        counters.l2Hits++;
        metrics.cache.inc({ level: 'l2', result: 'hit' });
        l1.set(s._id, s, { ttl });
        currentByViewer.set(viewerId, s._id, { ttl });
        return s;
      }
      counters.l2Misses++;
      metrics.cache.inc({ level: 'l2', result: 'miss' });
      return undefined;
    },
    /** A session by id, for later pages; open sessions outlive invalidation so paging stays stable. */
    async byId(id: string): Promise<FeedSession | undefined> {
      const hit = l1.get(id);
      if (hit) return hit;
      const s = await l2.byId(id);
      if (s) l1.set(id, s, { ttl: ACTIVITY_TTL_MS.low });
      return s;
    },
    async save(session: FeedSession): Promise<void> {
      await l2.save(session);
      const ttl = ACTIVITY_TTL_MS.low;
      l1.set(session._id, session, { ttl });
      if (session.current) currentByViewer.set(session.viewerId, session._id, { ttl });
    },
    /** When the viewer's cached data was last invalidated (ms), 0 if never in this process's memory. */
    invalidatedSince(viewerId: string): number {
      return invalidatedAt.get(viewerId) ?? 0;
    },
    /** Marks these viewers' cached first pages stale as of `at` (from the invalidation log). */
    evictLocal(viewerIds: string[], at = Date.now()): void {
      for (const v of viewerIds) {
        if ((invalidatedAt.get(v) ?? 0) < at) invalidatedAt.set(v, at);
        currentByViewer.delete(v);
      }
    },
    /** Evicts every session in this process that shows the post (a delete or an edit). */
    evictPost(postId: string): void {
      this.evictWhere((e) => e.postId === postId);
    },
    /** Evicts every session in this process that shows the author's items (a profile change). */
    evictAuthor(authorId: string): void {
      this.evictWhere((e) => e.authorId === authorId);
    },
    evictWhere(match: (e: WindowEntry) => boolean): void {
      const viewers = new Set<string>();
      for (const s of l1.values()) if (s.entries.some(match)) viewers.add(s.viewerId);
      this.evictLocal([...viewers]);
    },
  };
}
export type SessionCache = ReturnType<typeof createSessionCache>;
