import { Redis } from 'ioredis';
import type { Db } from 'mongodb';
import type { EngagementCounts } from './read-model';

/**
 * The feed cache in Redis: its keys, and the write side of its invalidation channel. Writers of anything a cached
 * feed shows call `invalidateFeeds` after their store write; one Lua call appends an entry to an invalidation
 * stream and stamps the named viewers' generations with its id. Query processes read the streams (a blocking
 * XREAD: no polling) and check every cached session against the generations, so an entry is never lost: a process
 * that was disconnected resumes from the last id it read, and one that cannot (the stream was trimmed past it, or
 * it just started) drops whatever it cannot prove fresh. See the README's "Feed cache" section.
 */

/** What a write changed besides the named viewers' feeds. */
export interface InvalidationScope {
  /** A post was edited (`edit`) or deleted (`delete`): every cached page holding it is stale or must hide it. */
  postId?: string;
  deleted?: boolean;
  /** An author's profile changed: every cached page showing their items is stale. */
  authorId?: string;
  /** The viewers' relationships changed: their cached per-viewer state (blocks, connections, follows) is stale. */
  relations?: boolean;
  /** A pull author posted: followers' cached first pages are stale. */
  pullPost?: string;
  /** The set of pull authors changed: every per-viewer state is stale. */
  pullSet?: boolean;
}

/** Kinds of entries on the posts stream, read by every query process into its hot set. */
export type PostEventKind = 'edit' | 'delete' | 'author' | 'pull' | 'pullset';

/** The viewers stream keeps this long: a query process disconnected longer drops its in-process cache. */
export const VIEWER_STREAM_KEEP_MS = 15 * 60_000;
/** The posts stream keeps this long: a starting query process replays it (deletes, edits) into its hot set. */
export const POST_STREAM_KEEP_MS = 2 * 3_600_000;
/** Generations outlive every cached entry they guard (a missing generation reads as "0"). */
export const GENERATION_TTL_MS = 3 * 3_600_000;

/** Every key of one database's feed cache; the hash tag keeps them in one slot, so the Lua call may touch them all. */
export function feedCacheKeys(dbName: string) {
  const p = `{ff:${dbName}}:`;
  return {
    prefix: p,
    viewers: `${p}viewers`,
    posts: `${p}posts`,
    gen: (viewerId: string) => `${p}g:${viewerId}`,
    relGen: (viewerId: string) => `${p}r:${viewerId}`,
    pullGen: `${p}pgen`,
    current: (viewerId: string) => `${p}c:${viewerId}`,
    session: (id: string) => `${p}s:${id}`,
    state: (viewerId: string) => `${p}st:${viewerId}`,
    engagement: `${p}eng`,
  };
}
export type FeedCacheKeys = ReturnType<typeof feedCacheKeys>;

// KEYS: viewers stream, posts stream. ARGV: prefix, viewers min id, posts min id, generation TTL, viewers (comma
// separated), '1' when relations changed, post event kind, its subject id.
const INVALIDATE = `
local p = ARGV[1]
local out = {'', ''}
if ARGV[5] ~= '' then
  local id = redis.call('XADD', KEYS[1], 'MINID', '~', ARGV[2], '*', 'v', ARGV[5], 'r', ARGV[6])
  for v in string.gmatch(ARGV[5], '[^,]+') do
    redis.call('SET', p .. 'g:' .. v, id, 'PX', ARGV[4])
    if ARGV[6] == '1' then redis.call('SET', p .. 'r:' .. v, id, 'PX', ARGV[4]) end
  end
  out[1] = id
end
if ARGV[7] ~= '' then
  local id = redis.call('XADD', KEYS[2], 'MINID', '~', ARGV[3], '*', 'k', ARGV[7], 'i', ARGV[8])
  if ARGV[7] == 'pullset' then redis.call('SET', p .. 'pgen', id) end
  out[2] = id
end
return out`;

// KEYS: the engagement hash. ARGV: post id, counts as "likes,comments,shares,views,total". Keeps the larger total,
// so a slower, older recount never replaces a newer one.
const SET_ENGAGEMENT = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local total = tonumber(string.match(cur, '([^,]+)$'))
  if total and total >= tonumber(string.match(ARGV[2], '([^,]+)$')) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

/** How to reach the feed cache's Redis; set once at start by lib/clients.ts. */
let redisUrl = 'redis://127.0.0.1:6379';
let writer: Redis | undefined;

export function useFeedCacheRedis(url: string): void {
  if (url === redisUrl) return;
  redisUrl = url;
  writer?.disconnect();
  writer = undefined;
}

/** Options every feed-cache connection shares: fail fast while Redis is down instead of queueing without bound. */
export function feedCacheRedisOptions(name: string) {
  return {
    connectionName: name,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    enableOfflineQueue: true,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (times: number) => Math.min(50 * times, 1_000),
  } as const;
}

/** The process's writer connection, made on first use. */
export function feedCacheWriter(): Redis {
  if (!writer) {
    writer = new Redis(redisUrl, feedCacheRedisOptions('feedflow-writer'));
    // Failed commands reject to their callers; the connection's own errors are only its reconnect attempts.
    writer.on('error', () => undefined);
  }
  return writer;
}

/** Closes the writer connection, if one was made (scripts that end on their own). */
export async function closeFeedCacheWriter(): Promise<void> {
  const w = writer;
  writer = undefined;
  if (w) await w.quit().catch(() => w.disconnect());
}

/**
 * Invalidates cached feeds after a store write: the viewers' pages (and, with `relations`, their per-viewer
 * state), or every page holding a post or an author. Throws when Redis cannot be reached, so the activity that
 * wrote is retried and the invalidation is never skipped.
 */
export async function invalidateFeeds(db: Db, viewerIds: string[], scope: InvalidationScope = {}): Promise<void> {
  const kind: PostEventKind | '' = scope.pullSet
    ? 'pullset'
    : scope.postId
      ? scope.deleted
        ? 'delete'
        : 'edit'
      : scope.authorId
        ? 'author'
        : scope.pullPost
          ? 'pull'
          : '';
  const subject = scope.postId ?? scope.authorId ?? scope.pullPost ?? '';
  const viewers = [...new Set(viewerIds)];
  if (!viewers.length && !kind) return;
  const keys = feedCacheKeys(db.databaseName);
  const now = Date.now();
  await feedCacheWriter().eval(
    INVALIDATE,
    2,
    keys.viewers,
    keys.posts,
    keys.prefix,
    String(now - VIEWER_STREAM_KEEP_MS),
    String(now - POST_STREAM_KEEP_MS),
    String(GENERATION_TTL_MS),
    viewers.join(','),
    scope.relations ? '1' : '0',
    kind,
    subject,
  );
}

/** Publishes a post's recounted engagement to the cache, where feed pages read it by one HMGET. */
export async function cacheEngagement(db: Db, postId: string, counts: EngagementCounts, total: number): Promise<void> {
  const value = [counts.likes, counts.comments, counts.shares, counts.views, total].join(',');
  await feedCacheWriter().eval(SET_ENGAGEMENT, 1, feedCacheKeys(db.databaseName).engagement, postId, value);
}

/** Parses a cached engagement value; undefined when absent or malformed. */
export function parseEngagement(value: string | null | undefined): EngagementCounts | undefined {
  const n = value?.split(',').map(Number);
  if (!n || n.length !== 5 || n.some((x) => !Number.isFinite(x))) return undefined;
  return { likes: n[0], comments: n[1], shares: n[2], views: n[3] };
}

/** Which fixed-width time bucket `t` (ms) falls in. */
export const timeBucket = (t: number, widthMs: number): number => Math.floor(t / widthMs);

/** Every bucket from the one holding `from` to the one holding `to`, oldest first. */
export function bucketsBetween(from: number, to: number, widthMs: number): number[] {
  const out: number[] = [];
  for (let b = timeBucket(from, widthMs); b <= timeBucket(to, widthMs); b++) out.push(b);
  return out;
}
