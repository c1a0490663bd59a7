import type { Db } from 'mongodb';
import { invalid } from '../../domain/errors';
import type { FeedReason } from '../../domain/reasons';
import { NO_RELATION, pushedVisibilities, VISIBILITIES } from '../../domain/visibility';
import type { Graph } from '../../stores/graph';
import type { IdLookup } from '../../stores/lookup';
import { createReadTimeSources, discoveryLimit } from '../../stores/read-time';
import { writeModel } from '../../stores/write-model';
import type { CursorCodec } from './cursor';
import type { FeedEntryData, WindowEntry } from './entries';
import type { ItemSource, Keyset } from './items';
import { diversify, rank } from './ranking';
import type { SafetyNet } from './safety';
import { newSessionId, type FeedSession, type SessionCache } from './sessions';

// Posts read from the post store are the ones the visibility rule would have pushed: public ones to followers (and
// to the second degree, as discovery), connection ones too to connections.
const FOLLOWING = { ...NO_RELATION, follows: true };
const CONNECTED = { ...NO_RELATION, connected: true };

export interface FeedReaderConfig {
  /** Candidates ranked per session; pages past it continue in recency order. */
  windowSize: number;
  halfLifeMs: number;
  /** Pushed feeds hold at most this many items; past it, pages come from the post store. */
  feedCap: number;
  /** How far back pull authors' and second-degree members' posts are merged in. */
  pullLookbackMs: number;
  /** Second-degree members whose recent public posts join the window (0: none). */
  secondDegreeAuthors: number;
}

export interface ServedItem extends FeedEntryData {
  rank: number;
}

export interface FeedPage {
  items: ServedItem[];
  nextCursor: string;
  cache: 'l1' | 'l2' | 'miss' | 'bypass';
}

const byRecency = (a: Keyset, b: Keyset): number =>
  b.createdAt - a.createdAt || (a.postId < b.postId ? 1 : a.postId > b.postId ? -1 : 0);

/**
 * Assembles feed pages: a ranked window per session (pushed items, followed pull authors' recent posts and a few
 * recent public posts from the second degree), sliced into pages, then a recency-ordered tail that falls back to
 * the post store past the cap. Every page goes through the safety net. A session always holds its discovery
 * entries; a feed without discovery skips them, so it is the same feed minus those items, and the two share the
 * cache.
 */
export function createFeedReader(deps: {
  db: Db;
  lookup: IdLookup;
  items: ItemSource;
  safety: SafetyNet;
  sessions: SessionCache;
  cursors: CursorCodec;
  config: FeedReaderConfig;
  /** The social graph, for second-degree candidates. */
  graph?: Graph;
}) {
  const { items, safety, sessions, cursors, config, graph } = deps;
  const wm = writeModel(deps.db);
  const readTime = createReadTimeSources(deps.db, graph, config);

  /** The viewer's network authors, for pages past the pushed cap. */
  const networkAuthors = async (viewerId: string): Promise<{ connections: string[]; follows: string[] }> => {
    // Two equality reads rather than one `$or`, which FerretDB cannot push down (stores/pushdown.ts).
    const side = (field: 'from' | 'to') =>
      deps.lookup.byValues(
        wm.relationships,
        field,
        [viewerId],
        { type: { $in: ['connection', 'follow'] }, active: true },
        { projection: { type: 1, status: 1, from: 1, to: 1 } },
      );
    const rels = (await Promise.all([side('from'), side('to')])).flat();
    const connections = rels
      .filter((r) => r.type === 'connection' && r.status === 'accepted')
      .map((r) => (r.from === viewerId ? r.to : r.from));
    const follows = rels.filter((r) => r.type === 'follow' && r.from === viewerId).map((r) => r.to);
    return { connections, follows };
  };

  /** Candidates strictly older than the keyset, newest first, from every source, deduplicated. */
  const candidates = async (
    viewerId: string,
    snapshot: number,
    limit: number,
    after?: Keyset,
    discovery = true,
  ): Promise<FeedEntryData[]> => {
    const recentPublic = (authors: string[], n: number, reason: FeedReason) =>
      items.fromAuthors(
        authors,
        pushedVisibilities(FOLLOWING),
        snapshot,
        snapshot - config.pullLookbackMs,
        n,
        reason,
        after,
      );
    const [pushed, pulls, discovered] = await Promise.all([
      items.pushed(viewerId, snapshot, limit, after),
      readTime.followedPullAuthors(viewerId).then((a) => recentPublic(a, limit, 'popular_author')),
      // A few recent public posts from the second degree, ranked on the second degree's lower engagement rate.
      discovery
        ? readTime.discoveryAuthors(viewerId).then((a) => recentPublic(a, discoveryLimit(limit), 'second_degree'))
        : [],
    ]);
    const merged = [...pushed, ...pulls, ...discovered];
    // Without a keyset, a short answer is the whole pushed feed, so no count is needed to know it was not trimmed.
    const trimmed = after ? (await items.pushedCount(viewerId)) >= config.feedCap : pushed.length >= config.feedCap;
    if (pushed.length < limit && trimmed) {
      // Past the cap the pushed history was trimmed; older items come from the post store.
      const oldest = pushed.length ? pushed[pushed.length - 1] : after;
      const net = await networkAuthors(viewerId);
      const olderOnly = oldest ? { createdAt: oldest.createdAt, postId: oldest.postId } : after;
      const [fromConnections, fromFollows, own] = await Promise.all([
        items.fromAuthors(net.connections, pushedVisibilities(CONNECTED), snapshot, 0, limit, 'connection', olderOnly),
        items.fromAuthors(net.follows, pushedVisibilities(FOLLOWING), snapshot, 0, limit, 'follow', olderOnly),
        items.fromAuthors([viewerId], [...VISIBILITIES], snapshot, 0, limit, 'own', olderOnly),
      ]);
      merged.push(...fromConnections, ...fromFollows, ...own);
    }
    const seen = new Set<string>();
    return merged
      .sort(byRecency)
      .filter((c) => !seen.has(c.postId) && seen.add(c.postId))
      .slice(0, limit);
  };

  const buildSession = async (viewerId: string, snapshot: number): Promise<FeedSession> => {
    // Taken before the read: an invalidation logged while it runs makes the data below stale, and it is dropped.
    const readAt = Date.now();
    const found = await candidates(viewerId, snapshot, config.windowSize);
    const ranked = diversify(rank(found, snapshot, config.halfLifeMs));
    const entries: WindowEntry[] = ranked.map(({ item, rank }) => ({
      postId: item.postId,
      authorId: item.authorId,
      createdAt: item.createdAt,
      rank,
      score: item.score,
      modelVersion: item.modelVersion,
      reason: item.reason,
      source: item.source,
    }));
    return {
      _id: newSessionId(),
      viewerId,
      snapshot,
      entries,
      complete: found.length < config.windowSize,
      current: true,
      createdAt: new Date(),
      // The candidates were read in full: the first pages need no second read of the same items, only the safety
      // verdicts (on FerretDB each re-read would be one point read per item).
      memo: { at: readAt, data: new Map(found.map((d) => [d.postId, d])), allowed: new Map() },
    };
  };

  /**
   * Serves up to `size` safe items from the window, starting at `pos`. Hydrated items and safety verdicts are kept
   * on the in-process session until the viewer's next invalidation; every write-model change that can hide a post
   * (delete, block, removed connection, unfollow) and every projection for the viewer logs one.
   */
  const fromWindow = async (viewerId: string, s: FeedSession, pos: number, size: number, discovery: boolean) => {
    if (!s.memo || s.memo.at <= sessions.invalidatedSince(viewerId)) {
      s.memo = { at: Date.now(), data: new Map(), allowed: new Map() };
    }
    const memo = s.memo;
    const out: ServedItem[] = [];
    let p = pos;
    while (out.length < size && p < s.entries.length) {
      const slice = s.entries.slice(p, p + Math.max(size - out.length, 10));
      const wanted = (e: WindowEntry) => discovery || e.reason !== 'second_degree';
      const missing = slice.filter((e) => wanted(e) && !memo.allowed.has(e.postId));
      if (missing.length) {
        const unread = missing.filter((e) => !memo.data.has(e.postId));
        const [data, ok] = await Promise.all([items.hydrate(viewerId, unread), safety.allowed(viewerId, missing)]);
        for (const d of data) memo.data.set(d.postId, d);
        for (const e of missing) memo.allowed.set(e.postId, ok.has(e.postId) && memo.data.has(e.postId));
      }
      for (const e of slice) {
        p++;
        const d = memo.data.get(e.postId);
        if (d && wanted(e) && memo.allowed.get(e.postId)) out.push({ ...d, reason: e.reason, rank: e.rank });
        if (out.length === size) break;
      }
    }
    return { items: out, pos: p };
  };

  /** Serves up to `size` safe items in recency order, strictly older than the keyset. */
  const fromTail = async (
    viewerId: string,
    snapshot: number,
    after: Keyset | undefined,
    size: number,
    discovery: boolean,
  ) => {
    const out: ServedItem[] = [];
    let k = after;
    for (let round = 0; round < 10 && out.length < size; round++) {
      const batch = await candidates(viewerId, snapshot, size - out.length + 5, k, discovery);
      if (!batch.length) return { items: out, keyset: undefined };
      const ok = await safety.allowed(viewerId, batch);
      for (const c of batch) {
        k = { createdAt: c.createdAt, postId: c.postId };
        if (ok.has(c.postId)) out.push({ ...c, rank: rank([c], snapshot, config.halfLifeMs)[0].rank });
        if (out.length === size) break;
      }
    }
    return { items: out, keyset: k };
  };

  return {
    /**
     * One page of the viewer's feed; `fresh` skips the cached session (after a consistency wait); without
     * `discovery` no second-degree item is served.
     */
    async getFeed(
      viewerId: string,
      pageSize: number,
      cursor: string,
      fresh: boolean,
      discovery = true,
    ): Promise<FeedPage> {
      let session: FeedSession | undefined;
      let pos = 0;
      let tail: Keyset | undefined;
      let inTail = false;
      let cache: FeedPage['cache'] = fresh ? 'bypass' : 'miss';
      let snapshot = Date.now();
      if (cursor) {
        const c = cursors.decode(cursor, viewerId);
        if (!c.d !== discovery) {
          throw invalid(
            `cursor is invalid: it was issued ${c.d ? 'with' : 'without'} no_discovery; repeat the first request's value`,
            'INVALID_CURSOR',
          );
        }
        snapshot = c.s;
        if (c.w) {
          session = await sessions.byId(c.w);
          if (!session || session.viewerId !== viewerId) {
            // Expired: rebuild against the same snapshot, which reproduces the window.
            session = await buildSession(viewerId, c.s);
            session._id = c.w;
            session.current = false;
            await sessions.save(session);
          }
          pos = c.p;
        } else {
          inTail = true;
          tail = { createdAt: c.k, postId: c.i };
        }
      } else {
        const before = { ...sessions.counters };
        session = fresh ? undefined : await sessions.current(viewerId);
        if (session) cache = sessions.counters.l1Hits > before.l1Hits ? 'l1' : 'l2';
        if (!session) {
          session = await buildSession(viewerId, snapshot);
          await sessions.save(session);
        }
        snapshot = session.snapshot;
      }

      const served: ServedItem[] = [];
      if (!inTail && session) {
        const w = await fromWindow(viewerId, session, pos, pageSize, discovery);
        served.push(...w.items);
        pos = w.pos;
        if (pos < session.entries.length) {
          const last = served[served.length - 1];
          const next = cursors.encode({
            u: viewerId,
            s: snapshot,
            w: session._id,
            p: pos,
            k: last?.rank ?? 0,
            i: last?.postId ?? '',
            ...(discovery ? {} : { d: true }),
          });
          return { items: served, nextCursor: next, cache };
        }
        if (session.complete) return { items: served, nextCursor: '', cache };
        // Continue past the window in recency order, after its oldest entry.
        const oldest = [...session.entries].sort(byRecency).pop();
        tail = oldest ? { createdAt: oldest.createdAt, postId: oldest.postId } : undefined;
      }
      const t = await fromTail(viewerId, snapshot, tail, pageSize - served.length, discovery);
      served.push(...t.items);
      const nextCursor =
        t.keyset && served.length
          ? cursors.encode({
              u: viewerId,
              s: snapshot,
              w: '',
              p: 0,
              k: t.keyset.createdAt,
              i: t.keyset.postId,
              ...(discovery ? {} : { d: true }),
            })
          : '';
      return { items: served, nextCursor, cache };
    },
  };
}
export type FeedReader = ReturnType<typeof createFeedReader>;
