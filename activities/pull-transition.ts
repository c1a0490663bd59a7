import { Context } from '@temporalio/activity';
import { MongoServerError } from 'mongodb';
import { DAY_MS } from '../domain/time';
import type {
  PullTransitionInput,
  PullTransitionPlan,
  PullTransitionSliceInput,
  PullTransitionSliceResult,
} from '../pipeline/contracts/projection';
import { invalidateFeeds } from '../stores/feed-cache';
import { writeFeedItems } from '../stores/feed-items';
import { lookupFor } from '../stores/lookup';
import { type FeedItemDoc, readModel } from '../stores/read-model';
import { actorSnapshot, feedItem } from '../stores/read-model';
import { writeModel } from '../stores/write-model';
import type { ProjectionDeps } from './deps';
import { heartbeat, lastHeartbeat } from './heartbeat';

interface SliceCheckpoint {
  cursor: string;
  pages: number;
  written: number;
}

async function planPullTransition(
  { db, config }: ProjectionDeps,
  input: PullTransitionInput,
): Promise<PullTransitionPlan> {
  const wm = writeModel(db);
  const rm = readModel(db);
  const lookbackMs = config.PULL_LOOKBACK_DAYS * DAY_MS;
  const record = await rm.pullAuthors.findOne({ _id: input.authorId });
  let windowStart = new Date(new Date(input.at).getTime() - lookbackMs);
  const pulledSince = (record?.since ?? new Date(0)).toISOString();
  if (!record || record.updatedAt.getTime() !== input.stamp) {
    return { superseded: true, postIds: [], windowStart: windowStart.toISOString(), pulledSince };
  }
  const posts = await wm.posts
    .find(
      { authorId: input.authorId, deleted: false, visibility: 'public', createdAt: { $gte: windowStart } },
      { projection: { _id: 1, createdAt: 1 } },
    )
    .sort({ createdAt: -1, _id: -1 })
    .limit(config.FEED_CAP)
    .toArray();
  // A feed holds no more than the cap; past it, the window starts at the oldest post pushed.
  if (posts.length === config.FEED_CAP) windowStart = posts[posts.length - 1].createdAt;
  return {
    superseded: false,
    postIds: posts.map((p) => p._id),
    windowStart: windowStart.toISOString(),
    pulledSince,
  };
}

/** The activities of createPullTransitionActivities, as workflows proxy them. */
export interface PullTransitionActivities {
  planPullTransition(input: PullTransitionInput): Promise<PullTransitionPlan>;
  pullTransitionSlice(req: PullTransitionSliceInput): Promise<PullTransitionSliceResult>;
  finishPullTransition(req: {
    authorId: string;
    stamp: number;
    plan: PullTransitionPlan;
  }): Promise<{ recordRemoved: boolean }>;
}

/**
 * A pull author's demotion: the public posts their followers were pulling (the query side's lookback window) are
 * pushed to every follower, page by page like a fan-out, and only then the pull record goes. Until then the query
 * side keeps pulling, so no follower ever misses a post; pulled and pushed copies of one post are merged there.
 */
export function createPullTransitionActivities(deps: ProjectionDeps): PullTransitionActivities {
  const { db, graph, config } = deps;
  const wm = writeModel(db);
  const rm = readModel(db);

  return {
    /** Decides once which posts the transition pushes: the author's live public posts of the lookback window. */
    async planPullTransition(input: PullTransitionInput): Promise<PullTransitionPlan> {
      return planPullTransition(deps, input);
    },

    /**
     * Pushes the planned posts to about `maxPages` pages of the author's followers (connections already hold them),
     * one heartbeat per page; a retry resumes after the last page written. Writes are keyed and version-guarded.
     */
    async pullTransitionSlice(req: PullTransitionSliceInput): Promise<PullTransitionSliceResult> {
      const ctx = Context.current();
      const resumed = lastHeartbeat<SliceCheckpoint>();
      let { cursor, pages, written } = resumed ?? { cursor: req.cursor, pages: 0, written: 0 };
      const author = await wm.users.findOne({ _id: req.authorId });
      if (!author) throw new Error(`author ${req.authorId} not found; retrying`);
      const actor = actorSnapshot(author);
      const posts = (await (await lookupFor(db)).byIds(wm.posts, req.postIds)).filter(
        (p) => !p.deleted && p.visibility === 'public',
      );
      const acceptedAt = new Date(req.acceptedAt);
      for (let run = 0; run < req.maxPages; run++) {
        ctx.cancellationSignal.throwIfAborted();
        const page = await graph.audiencePage(req.authorId, 'connections+followers', cursor, config.FANOUT_PAGE_SIZE);
        const followers = page.members.filter((m) => m.reason === 'follow').map((m) => m.id);
        const items: FeedItemDoc[] = [];
        const projectedAt = new Date();
        for (const viewerId of followers) {
          for (const post of posts) items.push(feedItem(post, actor, viewerId, 'follow', acceptedAt, projectedAt));
        }
        for (let i = 0; i < items.length; i += config.FANOUT_PAGE_SIZE) {
          await writeFeedItems(rm, items.slice(i, i + config.FANOUT_PAGE_SIZE));
          heartbeat({ cursor, pages, written } satisfies SliceCheckpoint);
        }
        await invalidateFeeds(db, followers);
        pages++;
        written += items.length;
        if (page.next === null) return { cursor: null, pages, written };
        cursor = page.next;
        heartbeat({ cursor, pages, written } satisfies SliceCheckpoint);
      }
      return { cursor, pages, written };
    },

    /**
     * Ends the pull period: records the posts it left unpushed (older than the window), then removes the pull record
     * unless a fan-out found the author above the threshold again since the demotion was seen.
     */
    async finishPullTransition(req: {
      authorId: string;
      stamp: number;
      plan: PullTransitionPlan;
    }): Promise<{ recordRemoved: boolean }> {
      const from = new Date(req.plan.pulledSince);
      const to = new Date(req.plan.windowStart);
      if (to > from) {
        try {
          await rm.pullGaps.insertOne({ _id: `${req.authorId}:${req.stamp}`, authorId: req.authorId, from, to });
        } catch (err) {
          if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
        }
      }
      const res = await rm.pullAuthors.deleteOne({ _id: req.authorId, updatedAt: new Date(req.stamp) });
      // A retry after the delete finds nothing to delete; a record still there is a newer state.
      const recordRemoved =
        res.deletedCount > 0 || !(await rm.pullAuthors.findOne({ _id: req.authorId }, { projection: { _id: 1 } }));
      // No longer a pull author: cached per-viewer states naming the pull authors a viewer follows are stale.
      if (recordRemoved) await invalidateFeeds(db, [], { pullSet: true });
      return { recordRemoved };
    },
  };
}
