import type { Db } from 'mongodb';
import type { FeedReason } from '../../domain/reasons';
import { NO_RELATION, pushedVisibilities, VISIBILITIES } from '../../domain/visibility';
import type { IdLookup } from '../../stores/lookup';
import { discoveryLimit, type ReadTimeSources } from '../../stores/read-time';
import { viewerRelations } from '../../stores/relations';
import { writeModel } from '../../stores/write-model';
import type { FeedEntryData, RankedEntry } from './entries';
import type { ItemSource, Keyset } from './items';
import { rank } from './ranking';
import type { SafetyNet } from './safety';
import { byRecency, type WindowConfig } from './window';

const FOLLOWING = { ...NO_RELATION, follows: true };
const CONNECTED = { ...NO_RELATION, connected: true };

export interface TailReader {
  /** Up to `size` safe items in recency order, strictly older than the keyset, and where the next page starts. */
  page(
    viewerId: string,
    snapshot: number,
    after: Keyset | undefined,
    size: number,
    discovery: boolean,
  ): Promise<{ items: RankedEntry[]; keyset?: Keyset }>;
}

/**
 * Pages past the ranked window, in recency order, strictly older than a keyset: pushed items, pull authors' and
 * second-degree posts, and past the pushed cap the post store of the viewer's network. Rare (a reader who scrolled
 * past the window), so it reads the write model for safety on every page.
 */
export function createTailReader(deps: {
  db: Db;
  lookup: IdLookup;
  items: ItemSource;
  safety: SafetyNet;
  readTime: ReadTimeSources;
  config: WindowConfig & { feedCap: number };
}): TailReader {
  const { items, safety, readTime, config } = deps;
  const wm = writeModel(deps.db);

  /** The viewer's network authors, for pages past the pushed cap. */
  const networkAuthors = async (viewerId: string): Promise<{ connections: string[]; follows: string[] }> => {
    const { connected, follows } = await viewerRelations(wm, deps.lookup, viewerId);
    return { connections: connected, follows };
  };

  /** Candidates strictly older than the keyset, newest first, from every source, deduplicated. */
  const candidates = async (
    viewerId: string,
    snapshot: number,
    limit: number,
    after: Keyset | undefined,
    discovery: boolean,
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
      discovery
        ? readTime.discoveryAuthors(viewerId).then((a) => recentPublic(a, discoveryLimit(limit), 'second_degree'))
        : [],
    ]);
    const merged = [...pushed, ...pulls, ...discovered];
    if (pushed.length < limit && (await items.pushedCount(viewerId)) >= config.feedCap) {
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

  return {
    async page(
      viewerId: string,
      snapshot: number,
      after: Keyset | undefined,
      size: number,
      discovery: boolean,
    ): Promise<{ items: RankedEntry[]; keyset?: Keyset }> {
      const out: RankedEntry[] = [];
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
    },
  };
}
