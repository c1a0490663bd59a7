import { ApplicationFailure } from '@temporalio/common';
import type { Db } from 'mongodb';
import { DAY_MS } from '../domain/time';
import type {
  BackfillFeedResult,
  BackfillInput,
  ProjectionInput,
  RelationshipSync,
} from '../pipeline/contracts/projection';
import { invalidateFeeds } from '../stores/feed-cache';
import { purgeAuthorItems, writeFeedItems } from '../stores/feed-items';
import type { EdgeState } from '../stores/graph';
import { actorSnapshot, feedItem, readModel } from '../stores/read-model';
import { isConnected, loadPair, type PairState, visibleTo } from '../stores/relations';
import { type RelationshipDoc, writeModel } from '../stores/write-model';
import type { ProjectionDeps } from './deps';

export const BACKFILL_DAYS = 7;
export const BACKFILL_LIMIT = 200;

function edgesOf(p: PairState): EdgeState[] {
  const edges: EdgeState[] = [];
  const edge = (kind: EdgeState['kind'], doc: RelationshipDoc | null, active: boolean) => {
    if (doc) edges.push({ kind, from: doc.from, to: doc.to, active, version: doc.version });
  };
  edge('CONNECTED', p.connection, isConnected(p.connection));
  edge('FOLLOWS', p.follows.ab, !!p.follows.ab?.active);
  edge('FOLLOWS', p.follows.ba, !!p.follows.ba?.active);
  edge('BLOCKED', p.blocks.ab, !!p.blocks.ab?.active);
  edge('BLOCKED', p.blocks.ba, !!p.blocks.ba?.active);
  return edges;
}

/** One direction of a backfill; see backfillFeed. */
async function backfill(db: Db, req: BackfillInput): Promise<BackfillFeedResult> {
  const wm = writeModel(db);
  const rm = readModel(db);
  const { viewerId, authorId } = req;
  const pair = await loadPair(wm, viewerId, authorId);
  const visibilities = visibleTo(pair, viewerId, authorId);
  if (visibilities.length === 0) return { written: 0, postIds: [] };
  const author = await wm.users.findOne({ _id: authorId });
  if (!author) throw new Error(`author ${authorId} not found; retrying`);
  const acceptedAt = new Date(req.acceptedAt);
  const since = new Date(acceptedAt.getTime() - BACKFILL_DAYS * DAY_MS);
  const posts = await wm.posts
    .find({ authorId, deleted: false, visibility: { $in: visibilities }, createdAt: { $gte: since } })
    .sort({ createdAt: -1, _id: -1 })
    .limit(BACKFILL_LIMIT)
    .toArray();
  const actor = actorSnapshot(author);
  const now = new Date();
  const res = await writeFeedItems(
    rm,
    posts.map((post) =>
      feedItem(
        post,
        actor,
        viewerId,
        'backfill',
        acceptedAt,
        now,
        isConnected(pair.connection) ? 'connection' : 'follow',
      ),
    ),
  );
  const stillVisible = visibleTo(await loadPair(wm, viewerId, authorId), viewerId, authorId);
  const ended = stillVisible.length < visibilities.length;
  if (ended) await purgeAuthorItems(rm, viewerId, authorId, stillVisible.includes('public'));
  await invalidateFeeds(db, [viewerId], { relations: true });
  return { written: res.inserted + res.upgraded, postIds: ended ? [] : posts.map((p) => p._id) };
}
/** The activities of createRelationshipActivities, as workflows proxy them. */
export interface RelationshipActivities {
  syncRelationship(input: ProjectionInput): Promise<RelationshipSync>;
  backfillFeed(req: BackfillInput): Promise<number>;
  backfillFeedItems(req: BackfillInput): Promise<BackfillFeedResult>;
  purgeRelationship(pairIds: { a: string; b: string }): Promise<Record<string, number>>;
}

/** Connections, follows and blocks: keep the graph
 in step with the write model, backfill and purge feeds. */
export function createRelationshipActivities({ db, graph }: ProjectionDeps): RelationshipActivities {
  const wm = writeModel(db);
  const rm = readModel(db);

  /** Removes what `viewer` may no longer see of `author`: everything, or all but public posts. */
  const purgeDirection = async (p: PairState, viewer: string, author: string): Promise<number> => {
    const allowed = visibleTo(p, viewer, author);
    if (allowed.includes('connections')) return 0;
    return purgeAuthorItems(rm, viewer, author, allowed.includes('public'));
  };

  return {
    /**
     * Applies the pair's current write-model state to the graph (every relationship between them, each guarded
     * by its version, so replays and out-of-order events are safe) and recounts both members' networks.
     */
    async syncRelationship(input: ProjectionInput): Promise<RelationshipSync> {
      const doc = await wm.relationships.findOne({ _id: input.aggregateId });
      if (!doc || doc.version < input.version) {
        const event = await wm.events.findOne({ _id: input.eventId }, { projection: { _id: 1 } });
        if (!event) {
          throw ApplicationFailure.create({
            type: 'NotFound',
            nonRetryable: true,
            message: `relationship ${input.aggregateId}: no event ${input.eventId}`,
          });
        }
        throw new Error(`relationship ${input.aggregateId} not yet at v${input.version}; retrying`);
      }
      const pair = await loadPair(wm, doc.from, doc.to);
      await graph.ensureUsers([doc.from, doc.to]);
      const edgesApplied = await graph.syncEdges(edgesOf(pair));
      // A recount from the graph, not an increment: repeating it is harmless.
      for (const id of [doc.from, doc.to]) {
        const counts = await graph.networkCounts(id);
        await rm.networkSummaries.updateOne(
          { _id: id },
          { $set: { ...counts, updatedAt: new Date() } },
          { upsert: true },
        );
      }
      return { a: doc.from, b: doc.to, edgesApplied };
    },

    /**
     * Gives the viewer the author's posts from the 7 days before the event that the viewer may see now, at most
     * 200. Re-checks the relationship after writing: if it ended meanwhile, the backfilled items go again.
     */
    async backfillFeed(req: BackfillInput): Promise<number> {
      return (await backfill(db, req)).written;
    },

    /** As backfillFeed, and names the posts it delivered, so the backfill can have their items scored. */
    async backfillFeedItems(req: BackfillInput): Promise<BackfillFeedResult> {
      return backfill(db, req);
    },

    /** Purges both feeds of whatever the pair's current state no longer allows (a block: everything). */
    async purgeRelationship(pairIds: { a: string; b: string }): Promise<Record<string, number>> {
      const { a, b } = pairIds;
      const pair = await loadPair(wm, a, b);
      const purged = { [a]: await purgeDirection(pair, a, b), [b]: await purgeDirection(pair, b, a) };
      await invalidateFeeds(db, [a, b], { relations: true });
      return purged;
    },
  };
}
