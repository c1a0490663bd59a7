import { LRUCache } from 'lru-cache';
import { mayRead, NO_RELATION, pushedVisibilities } from '../../domain/visibility';
import type { InvalidationChannel } from './channel';
import type { FeedEntryData, RankedEntry, ViewerState } from './entries';
import type { ItemSource, Keyset } from './items';
import { diversify, rank } from './ranking';
import type { SafetyNet } from './safety';

const PUBLIC_ONLY = pushedVisibilities({ ...NO_RELATION, follows: true });
/** How long a pull author's recent posts stay in the hot set without a post event about them. */
const PULL_POSTS_TTL_MS = 60_000;

export interface WindowConfig {
  /** Candidates ranked per session; pages past it continue in recency order. */
  windowSize: number;
  halfLifeMs: number;
  /** How far back pull authors' and second-degree members' posts are merged in. */
  pullLookbackMs: number;
}

export const byRecency = (a: Keyset, b: Keyset): number =>
  b.createdAt - a.createdAt || (a.postId < b.postId ? 1 : a.postId > b.postId ? -1 : 0);

/** Which candidates a viewer may be served. */
export type SafetyCheck = (viewerId: string, candidates: FeedEntryData[]) => Promise<Set<string>>;

function stateSafety(channel: InvalidationChannel, state: ViewerState): SafetyCheck {
  const blocked = new Set(state.blocked);
  const connected = new Set(state.connected);
  return async (viewerId, candidates) =>
    new Set(
      candidates
        .filter(
          (c) =>
            !channel.deleted(c.postId) &&
            mayRead(viewerId, c, { blocked: blocked.has(c.authorId), connected: connected.has(c.authorId) }),
        )
        .map((c) => c.postId),
    );
}

/** How a feed session's ranked window is built, and the two ways its candidates are checked for safety. */
export interface WindowBuilder {
  pulled(authors: string[], snapshot: number): Promise<FeedEntryData[]>;
  /** Safety from the viewer's state and the hot set of deleted posts: no store read. */
  stateSafety(state: ViewerState): SafetyCheck;
  /** Safety from the write model (posts and relationships by id): when the hot set cannot be trusted. */
  readonly storeSafety: SafetyCheck;
  /** Ranks the window from its sources; `complete` when the candidates ran out before the window filled. */
  build(
    viewerId: string,
    snapshot: number,
    sources: { pushed: FeedEntryData[]; pullFollows: string[]; discovery: FeedEntryData[] },
    safe: SafetyCheck,
  ): Promise<{ items: RankedEntry[]; complete: boolean }>;
}

/**
 * The ranked window of a session: the viewer's pushed items, the recent public posts of the pull authors they
 * follow (from a shared hot set, one read per author per minute per process) and their discovery picks, deduped
 * with the pushed copy winning, filtered by a safety check, then ranked and diversified against the snapshot.
 */
export function createWindowBuilder(deps: {
  items: ItemSource;
  safetyNet: SafetyNet;
  channel: InvalidationChannel;
  config: WindowConfig;
}): WindowBuilder {
  const { items, channel, config } = deps;
  const hot = new LRUCache<string, { seq: string; at: number; posts: FeedEntryData[] }>({ max: 10_000 });

  /** Recent public posts of these pull authors; from the hot set while the invalidation channel proves it. */
  const pulled = async (authors: string[], snapshot: number): Promise<FeedEntryData[]> => {
    if (!authors.length) return [];
    const since = snapshot - config.pullLookbackMs;
    const read = (ids: string[], until: number) =>
      items.fromAuthors(
        ids,
        PUBLIC_ONLY,
        until,
        until - config.pullLookbackMs,
        config.windowSize * ids.length,
        'popular_author',
      );
    if (!channel.proven || snapshot < Date.now() - PULL_POSTS_TTL_MS) return read(authors, snapshot);
    const now = Date.now();
    const fresh = (a: string) => {
      const e = hot.get(a);
      return !!e && now - e.at < PULL_POSTS_TTL_MS && !channel.newer('pull', a, e.seq);
    };
    const missing = authors.filter((a) => !fresh(a));
    if (missing.length) {
      const seq = channel.postsSeen;
      const posts = await read(missing, now);
      for (const a of missing) hot.set(a, { seq, at: now, posts: posts.filter((p) => p.authorId === a) });
    }
    return authors
      .flatMap((a) => hot.get(a)?.posts ?? [])
      .filter((p) => p.createdAt <= snapshot && p.createdAt >= since);
  };

  return {
    pulled,

    stateSafety: (state: ViewerState): SafetyCheck => stateSafety(channel, state),
    storeSafety: ((viewerId, candidates) => deps.safetyNet.allowed(viewerId, candidates)) as SafetyCheck,

    async build(
      viewerId: string,
      snapshot: number,
      sources: { pushed: FeedEntryData[]; pullFollows: string[]; discovery: FeedEntryData[] },
      safe: SafetyCheck,
    ): Promise<{ items: RankedEntry[]; complete: boolean }> {
      const since = snapshot - config.pullLookbackMs;
      const picks = sources.discovery.filter((d) => d.createdAt <= snapshot && d.createdAt >= since);
      const merged = [...sources.pushed, ...(await pulled(sources.pullFollows, snapshot)), ...picks];
      const seen = new Set<string>();
      const found = merged
        .sort(byRecency)
        .filter((c) => !seen.has(c.postId) && seen.add(c.postId))
        .slice(0, config.windowSize);
      const ok = await safe(viewerId, found);
      const ranked = diversify(
        rank(
          found.filter((c) => ok.has(c.postId)),
          snapshot,
          config.halfLifeMs,
        ),
      );
      return {
        items: ranked.map(({ item, rank: r }) => ({ ...item, rank: r })),
        complete: found.length < config.windowSize,
      };
    },
  };
}
