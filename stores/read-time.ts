import type { Db } from 'mongodb';
import type { Graph } from './graph';
import { lookupFor } from './lookup';
import { readModel } from './read-model';
import { newestFirst, writeModel } from './write-model';

/**
 * Where a feed's read-time items come from: posts GetFeed merges in at read time instead of finding them pushed.
 * The query side assembles feeds from these sources and RebuildFeed counts them, so the two agree on what a feed
 * serves. Followed popular authors are not discovery (the viewer chose them); second-degree members are.
 */
export interface ReadTimeConfig {
  /** How far back read-time posts are merged in. */
  pullLookbackMs: number;
  /** Second-degree members whose recent public posts join the window (0: no discovery). */
  secondDegreeAuthors: number;
}

/** How many discovery posts a ranking window of `limit` candidates takes: a tenth, so discovery stays a garnish. */
export const discoveryLimit = (limit: number): number => Math.ceil(limit / 10);

/** First-degree members a discovery read starts from: the strongest ones. */
const DISCOVERY_SEEDS = 200;

/** The read-time sources of one deployment, as GetFeed and RebuildFeed read them. */
export interface ReadTimeSources {
  readonly config: ReadTimeConfig;
  follows(viewerId: string): Promise<string[]>;
  /** Popular (pull) authors this viewer follows: their public posts are merged at read time instead of pushed. */
  followedPullAuthors(viewerId: string, followed?: string[]): Promise<string[]>;
  /** The strongest second-degree members (by weight and mutual connections); blocked members never appear. */
  discoveryAuthors(viewerId: string): Promise<string[]>;
  /**
   * Counts the read-time items a feed session would merge now, beside the pushed posts given: every recent public
   * post of a followed popular author that is not pushed, and the discovery posts one window of `windowSize`
   * takes (the newest, before those already present are dropped, as the query side merges them).
   */
  count(
    viewerId: string,
    pushedPostIds: Set<string>,
    windowSize: number,
    now?: number,
  ): Promise<{ pulled: number; discovery: number }>;
}

export function createReadTimeSources(db: Db, graph: Graph | undefined, config: ReadTimeConfig): ReadTimeSources {
  const wm = writeModel(db);
  const rm = readModel(db);

  /** The members this viewer actively follows: one equality read. */
  const follows = async (viewerId: string): Promise<string[]> => {
    const docs = await wm.relationships
      .find({ from: viewerId, type: 'follow', active: true }, { projection: { to: 1 } })
      .toArray();
    return docs.map((d) => d.to);
  };

  /**
   * Popular (pull) authors among the members the viewer follows: reads proportional to the viewer's follows, never
   * to all pull authors (one `$in` on MongoDB).
   */
  const followedPullAuthors = async (viewerId: string, followed?: string[]): Promise<string[]> => {
    const ids = followed ?? (await follows(viewerId));
    if (!ids.length) return [];
    const pull = await (await lookupFor(db)).byIds(rm.pullAuthors, ids, { _id: 1 });
    return pull.map((p) => p._id);
  };

  const discoveryAuthors = async (viewerId: string): Promise<string[]> => {
    if (!graph || !config.secondDegreeAuthors) return [];
    const network = await graph.network(viewerId, DISCOVERY_SEEDS, config.secondDegreeAuthors);
    return network
      .filter((m) => m.degree === 2)
      .slice(0, config.secondDegreeAuthors)
      .map((m) => m.id);
  };

  /** Live public posts of these authors created in [since, until], newest first. */
  const recentPublic = async (authorIds: string[], until: number, limit: number): Promise<string[]> => {
    if (!authorIds.length) return [];
    const posts = await (
      await lookupFor(db)
    ).byValues(
      wm.posts,
      'authorId',
      authorIds,
      {
        deleted: false,
        visibility: 'public',
        createdAt: { $lte: new Date(until), $gte: new Date(until - config.pullLookbackMs) },
      },
      { projection: { _id: 1, createdAt: 1 }, sort: { createdAt: -1, _id: -1 }, limit },
    );
    return posts
      .sort(newestFirst)
      .slice(0, limit)
      .map((p) => p._id);
  };

  return {
    config,
    follows,
    followedPullAuthors,
    discoveryAuthors,

    async count(
      viewerId: string,
      pushedPostIds: Set<string>,
      windowSize: number,
      now = Date.now(),
    ): Promise<{ pulled: number; discovery: number }> {
      const [pulledIds, discoveryIds] = await Promise.all([
        followedPullAuthors(viewerId).then((authors) => recentPublic(authors, now, 10_000)),
        discoveryAuthors(viewerId).then((authors) => recentPublic(authors, now, discoveryLimit(windowSize))),
      ]);
      const pulled = pulledIds.filter((id) => !pushedPostIds.has(id));
      const present = new Set([...pushedPostIds, ...pulled]);
      return { pulled: pulled.length, discovery: discoveryIds.filter((id) => !present.has(id)).length };
    },
  };
}
