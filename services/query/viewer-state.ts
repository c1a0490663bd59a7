import type { Db } from 'mongodb';
import { NO_RELATION, pushedVisibilities } from '../../domain/visibility';
import type { IdLookup } from '../../stores/lookup';
import { readModel } from '../../stores/read-model';
import { discoveryLimit, type ReadTimeSources } from '../../stores/read-time';
import { viewerRelations } from '../../stores/relations';
import { writeModel } from '../../stores/write-model';
import type { Stamps } from './cache';
import type { FeedEntryData, ViewerState } from './entries';
import type { ItemSource } from './items';

const PUBLIC_ONLY = pushedVisibilities({ ...NO_RELATION, follows: true });

export interface ViewerStates {
  /** The state as of now; with `stamps` from a usable cache, the pull authors come from the shared set. */
  derive(viewerId: string, stamps?: Stamps): Promise<ViewerState>;
}

/**
 * Derives a viewer's state (entries.ts) from the write model and the graph: the relationships on both sides (two
 * equality reads), the pull authors they follow, and their discovery picks. Done once per relationship change; a
 * cold page with a cached state reads none of it.
 */
export function createViewerStates(deps: {
  db: Db;
  lookup: IdLookup;
  items: ItemSource;
  readTime: ReadTimeSources;
  windowSize: number;
}): ViewerStates {
  const { items, readTime, windowSize } = deps;
  const wm = writeModel(deps.db);
  const rm = readModel(deps.db);
  // The pull-author set is small and shared: read once per pull-author generation, not per viewer.
  let pullSet: { gen: string; ids: Promise<Set<string>> } | undefined;
  const pullAuthors = (gen: string): Promise<Set<string>> => {
    if (pullSet?.gen !== gen) {
      const ids = rm.pullAuthors
        .find({}, { projection: { _id: 1 } })
        .toArray()
        .then((docs) => new Set(docs.map((d) => d._id)));
      pullSet = { gen, ids };
      ids.catch(() => (pullSet = undefined));
    }
    return pullSet.ids;
  };

  /** Recent public posts of the strongest second-degree members, for a window at `now`. */
  const discoveryPicks = async (viewerId: string, now: number): Promise<FeedEntryData[]> => {
    const authors = await readTime.discoveryAuthors(viewerId);
    const lookback = readTime.config.pullLookbackMs;
    return items.fromAuthors(authors, PUBLIC_ONLY, now, now - lookback, discoveryLimit(windowSize), 'second_degree');
  };

  return {
    async derive(viewerId: string, stamps?: Stamps): Promise<ViewerState> {
      const [{ blocked, connected, follows }, discovery] = await Promise.all([
        viewerRelations(wm, deps.lookup, viewerId),
        discoveryPicks(viewerId, Date.now()),
      ]);
      const pullFollows = stamps
        ? follows.filter(
            (
              (set) => (a: string) =>
                set.has(a)
            )(await pullAuthors(stamps.pullGen)),
          )
        : await readTime.followedPullAuthors(viewerId, follows);
      const hidden = new Set(blocked);
      return {
        viewerId,
        relGen: stamps?.relGen ?? '0',
        pullGen: stamps?.pullGen ?? '0',
        blocked: [...hidden],
        connected,
        pullFollows,
        discovery: discovery.filter((d) => !hidden.has(d.authorId)),
      };
    },
  };
}
