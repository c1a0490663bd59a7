import type { Db } from 'mongodb';
import { invalid } from '../../domain/errors';
import { metrics } from '../../lib/metrics';
import { cacheEngagement } from '../../stores/feed-cache';
import type { EngagementCounts } from '../../stores/read-model';
import type { ReadTimeSources } from '../../stores/read-time';
import { type CacheTier, type FeedCache, type FeedSession, newSessionId, type Stamps } from './cache';
import type { CursorCodec, FeedCursor, WindowCursor } from './cursor';
import type { RankedEntry, ViewerState } from './entries';
import type { ItemSource } from './items';
import type { TailReader } from './tail';
import type { ViewerStates } from './viewer-state';
import { byRecency, type SafetyCheck, type WindowBuilder } from './window';

export type ServedItem = RankedEntry;

export interface FeedPage {
  items: ServedItem[];
  nextCursor: string;
  /** Where the page's session came from; `unavailable` when the cache could not be used (Redis down). */
  cache: CacheTier;
}

export interface FeedRequest {
  pageSize: number;
  cursor: string;
  /** Skip cached sessions (after a consistency wait). */
  fresh: boolean;
  /** Serve second-degree items; a session always holds them, and a feed without discovery skips them. */
  discovery: boolean;
  /** Fill in engagement counts (V2 and V3). */
  engagement: boolean;
  /** Answers NOT_FOUND for an unknown viewer; called only when no cached state already proves membership. */
  requireMember(viewerId: string): Promise<void>;
}

export interface FeedReaderDeps {
  db: Db;
  items: ItemSource;
  cache: FeedCache;
  states: ViewerStates;
  windows: WindowBuilder;
  tail: TailReader;
  readTime: ReadTimeSources;
  cursors: CursorCodec;
  windowSize: number;
}

const feedCursor = (cursors: CursorCodec, viewerId: string, c: FeedCursor, discovery: boolean): string =>
  cursors.feed.encode(viewerId, { ...c, ...(discovery ? {} : { d: true as const }) });

/** A new session at `snapshot`: from the cached state when the cache is usable, else from the stores alone. */
async function buildSession(
  { items, states, windows, windowSize }: FeedReaderDeps,
  viewerId: string,
  snapshot: number,
  opened: { state?: ViewerState; stamps?: Stamps },
  req: FeedRequest,
): Promise<{ session: FeedSession; derived?: ViewerState }> {
  const stamps = opened.stamps;
  let state = opened.state;
  let derived: ViewerState | undefined;
  if (!state) {
    await req.requireMember(viewerId);
    state = derived = await states.derive(viewerId, stamps);
  }
  const pushed = await items.pushed(viewerId, snapshot, windowSize);
  const safe: SafetyCheck = stamps ? windows.stateSafety(state) : windows.storeSafety;
  const w = await windows.build(viewerId, snapshot, { ...state, pushed }, safe);
  const session: FeedSession = {
    id: newSessionId(),
    viewerId,
    snapshot,
    items: w.items,
    complete: w.complete,
    createdAt: Date.now(),
    stamps: stamps ?? { gen: '', relGen: '', pullGen: '', seq: '' },
    pullFollows: state.pullFollows,
  };
  return { session, derived };
}

/** Up to `size` items of the window from `pos`, skipping deleted posts (and discovery, when left out). */
async function sliceWindow(
  cache: FeedCache,
  viewerId: string,
  s: FeedSession,
  pos: number,
  size: number,
  req: FeedRequest,
  safe?: SafetyCheck,
): Promise<{ items: ServedItem[]; pos: number }> {
  const out: ServedItem[] = [];
  let p = pos;
  while (out.length < size && p < s.items.length) {
    const part = s.items
      .slice(p, p + Math.max(size - out.length, 10))
      .filter((e) => req.discovery || e.reason !== 'second_degree');
    const ok = safe ? await safe(viewerId, part) : undefined;
    for (const e of s.items.slice(p, p + Math.max(size - out.length, 10))) {
      p++;
      const wanted = req.discovery || e.reason !== 'second_degree';
      if (wanted && !cache.deleted(e.postId) && (!ok || ok.has(e.postId))) out.push({ ...e });
      if (out.length === size) break;
    }
  }
  return { items: out, pos: p };
}

/** Counts for the page: from the cache, the rest from the post summaries (and put in the cache). */
async function pageEngagement(
  { db, items, cache }: FeedReaderDeps,
  ids: string[],
  known?: Map<string, EngagementCounts>,
): Promise<Map<string, EngagementCounts>> {
  const counts = known ?? (cache.proven ? await cache.engagement(ids) : undefined) ?? new Map();
  const missing = ids.filter((id) => !counts.has(id));
  if (missing.length) {
    const read = await items.engagement(missing);
    const zero = { likes: 0, comments: 0, shares: 0, views: 0 };
    // Cached for the next page, zeros included (a post nobody engaged with has no counts yet): the engagement
    // projection's larger total replaces them.
    const fill = missing.map((id) => ({ id, ...(read.get(id) ?? { counts: zero, total: 0 }) }));
    for (const e of fill) counts.set(e.id, e.counts);
    if (cache.proven) {
      await Promise.all(fill.map((e) => cacheEngagement(db, e.id, e.counts, e.total).catch(() => undefined)));
    }
  }
  return counts;
}

/** The page's items and next cursor: the window from `pos`, then the recency tail past it. */
async function servePage(
  { cache, tail, cursors }: FeedReaderDeps,
  viewerId: string,
  req: FeedRequest,
  c: FeedCursor | undefined,
  s?: FeedSession,
  safe?: SafetyCheck,
): Promise<{ served: ServedItem[]; next: string }> {
  const served: ServedItem[] = [];
  const snapshot = s?.snapshot ?? c!.s;
  let tailFrom = c?.phase === 'tail' ? { createdAt: c.k, postId: c.i } : undefined;
  if (s) {
    const w = await sliceWindow(cache, viewerId, s, c?.phase === 'window' ? c.p : 0, req.pageSize, req, safe);
    served.push(...w.items);
    if (w.pos < s.items.length) {
      return {
        served,
        next: feedCursor(cursors, viewerId, { phase: 'window', s: snapshot, w: s.id, p: w.pos }, req.discovery),
      };
    }
    if (s.complete) return { served, next: '' };
    const oldest = [...s.items].sort(byRecency).pop();
    tailFrom = oldest ? { createdAt: oldest.createdAt, postId: oldest.postId } : undefined;
  }
  const t =
    served.length < req.pageSize
      ? await tail.page(viewerId, snapshot, tailFrom, req.pageSize - served.length, req.discovery)
      : { items: [], keyset: tailFrom };
  served.push(...t.items);
  if (!t.keyset || !served.length) return { served, next: '' };
  const k: FeedCursor = { phase: 'tail', s: snapshot, k: t.keyset.createdAt, i: t.keyset.postId };
  return { served, next: feedCursor(cursors, viewerId, k, req.discovery) };
}

export interface FeedReader {
  /** One page of the viewer's feed (first pages timed by cache tier). */
  getFeed(viewerId: string, req: FeedRequest): Promise<FeedPage>;
}

/**
 * Assembles feed pages. A first page takes its session from the cache or builds one: the viewer's pushed window
 * (one read) beside their cached state and the shared hot set, ranked once against the snapshot. Later pages are
 * slices of that session, then a recency-ordered tail. When the cache cannot be used every page is built from the
 * read models, with safety read from the write model: slower, never an error.
 */
export function createFeedReader(deps: FeedReaderDeps): FeedReader {
  const { cache, windows, cursors } = deps;

  /** The session a window cursor names, or the same window rebuilt against its snapshot when it is gone. */
  const laterSession = async (viewerId: string, c: WindowCursor, req: FeedRequest) => {
    const found = await cache.byId(c.w, viewerId);
    if (found.session?.viewerId === viewerId) {
      // Relationships changed since the build: this page's safety comes from the write model.
      const recheck = found.relGen !== found.session.stamps.relGen;
      return { session: found.session, safe: recheck ? windows.storeSafety : undefined };
    }
    const opened: { state?: ViewerState; stamps?: Stamps } = cache.proven ? await cache.open(viewerId, true) : {};
    const { session, derived } = await buildSession(deps, viewerId, c.s, opened, req);
    session.id = c.w;
    if (opened.stamps) await cache.save(session, { current: false, state: derived });
    return { session, safe: undefined };
  };

  /** The session a first page starts from: the viewer's current one from the cache, or one built (and cached) now. */
  const firstSession = async (viewerId: string, req: FeedRequest) => {
    const opened = await cache.open(viewerId, req.fresh);
    if (opened.session) return { session: opened.session, tier: opened.tier };
    const { session, derived } = await buildSession(deps, viewerId, Date.now(), opened, req);
    if (!opened.stamps) return { session, tier: opened.tier };
    // The page's counts ride on the pipeline that stores the session.
    const ids = req.engagement ? session.items.slice(0, req.pageSize * 2).map((i) => i.postId) : [];
    const known = await cache.save(session, { current: true, state: derived, engagementIds: ids });
    return { session, tier: opened.tier, known };
  };

  /** One page, top to bottom: the cursor, the session, the window and the tail, the counts. */
  const assemble = async (viewerId: string, req: FeedRequest): Promise<FeedPage> => {
    const c = req.cursor ? cursors.feed.decode(req.cursor, viewerId) : undefined;
    if (c && !c.d !== req.discovery) {
      throw invalid(
        `cursor is invalid: it was issued ${c.d ? 'with' : 'without'} no_discovery; repeat the first request's value`,
        'INVALID_CURSOR',
      );
    }
    if (c) await req.requireMember(viewerId);
    const first = c ? undefined : await firstSession(viewerId, req);
    const later = c?.phase === 'window' ? await laterSession(viewerId, c, req) : undefined;
    const { served, next } = await servePage(deps, viewerId, req, c, first?.session ?? later?.session, later?.safe);
    if (req.engagement && served.length) {
      const counts = await pageEngagement(
        deps,
        served.map((i) => i.postId),
        first?.known,
      );
      for (const i of served) i.engagement = counts.get(i.postId) ?? i.engagement;
    }
    return { items: served, nextCursor: next, cache: first?.tier ?? 'miss' };
  };

  return {
    async getFeed(viewerId: string, req: FeedRequest): Promise<FeedPage> {
      const started = performance.now();
      const page = await assemble(viewerId, req);
      if (!req.cursor) metrics.feedPage.observe({ tier: page.cache }, (performance.now() - started) / 1000);
      return page;
    },
  };
}
