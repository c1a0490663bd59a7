import { ApplicationFailure, Context } from '@temporalio/activity';
import type { UpdateFilter } from 'mongodb';
import { feedItemId } from '../domain/ids';
import { audienceScopeOf } from '../domain/visibility';
import type { Config } from '../lib/config';
import { metrics, recordLag } from '../lib/metrics';
import type {
  ScoreRangeInput,
  ScoreRangeResult,
  ScoreViewerItemsInput,
  ScoreViewerItemsResult,
} from '../pipeline/contracts/ranking';
import { invalidateFeeds } from '../stores/feed-cache';
import type { Graph, PushScope } from '../stores/graph';
import { type IdLookup, lookupFor } from '../stores/lookup';
import { type FeedItemDoc, readModel } from '../stores/read-model';
import { writeModel } from '../stores/write-model';
import { heartbeat, lastHeartbeat, whileHeartbeating } from './heartbeat';
import { createRankingActivities, type RankingDeps } from './ranking';

export interface ScoringDeps extends RankingDeps {
  graph: Graph;
  config: Pick<Config, 'FANOUT_PAGE_SIZE' | 'RESCORE_DEBOUNCE_MS'>;
  /** How to read items by id; detected from the server when not given. */
  lookup?: IdLookup;
}

/** A range activity's checkpoint, so a retry resumes after the last page it wrote. */
interface RangeCheckpoint {
  cursor: string;
  pages: number;
  items: number;
  written: number;
}

type StoredItem = Pick<FeedItemDoc, '_id' | 'viewerId' | 'postId' | 'modelVersion' | 'scoredAt' | 'acceptedAt'>;
const STORED = { _id: 1, viewerId: 1, postId: 1, modelVersion: 1, scoredAt: 1, acceptedAt: 1 };
/** Point updates in flight per page. */
const WRITE_LANES = 16;

/** Scoring (viewer, post) pairs: reads their items by id, scores them, writes the newer scores one by one. */
function createPairScorer(deps: ScoringDeps, ranking: ReturnType<typeof createRankingActivities>) {
  const { db } = deps;
  const rm = readModel(db);
  const ids = () => (deps.lookup ? Promise.resolve(deps.lookup) : lookupFor(db));

  /** Scores the post's items of these viewers and writes the scores; returns [items read, scores written]. */
  const scoreViewers = (postId: string, viewerIds: string[], staleOnly: boolean) =>
    scorePairs(
      viewerIds.map((viewerId) => ({ viewerId, postId })),
      staleOnly,
    );

  /** Scores the items of these (viewer, post) pairs and writes the scores; returns [items read, scores written]. */
  async function scorePairs(
    pairs: Array<{ viewerId: string; postId: string }>,
    staleOnly: boolean,
  ): Promise<[number, number]> {
    if (!pairs.length) return [0, 0];
    const found = await (
      await ids()
    ).byIds(
      rm.feedItems,
      pairs.map((p) => feedItemId(p.viewerId, p.postId)),
      STORED,
    );
    let items = found as unknown as StoredItem[];
    if (staleOnly) {
      const serving = await ranking.modelVersion();
      items = items.filter((i) => i.modelVersion !== serving);
    }
    if (!items.length) return [found.length, 0];
    const end = metrics.scoringBatch.startTimer();
    const scored = await ranking.scoreItems({ items: items.map((i) => ({ viewerId: i.viewerId, postId: i.postId })) });
    end();
    const scoredAt = new Date(scored.scoredAt);
    const byKey = new Map(items.map((i) => [feedItemId(i.viewerId, i.postId), i]));
    const ops: Array<{ filter: { _id: string }; update: UpdateFilter<FeedItemDoc> }> = [];
    const touched = new Set<string>();
    const now = Date.now();
    for (const s of scored.scores) {
      const item = byKey.get(feedItemId(s.viewerId, s.postId));
      if (!item || (item.scoredAt && item.scoredAt >= scoredAt)) continue;
      // Lag is a fresh item's accepted→scored time; a re-score of an old item says nothing about the pipeline.
      if (item.modelVersion === null && item.acceptedAt) recordLag('scored', (now - item.acceptedAt.getTime()) / 1000);
      touched.add(item.viewerId);
      ops.push({
        filter: { _id: item._id },
        update: { $set: { score: s.score, modelVersion: scored.modelVersion, scoredAt } },
      });
    }
    if (ops.length) {
      // One update per item, never a bulk write: FerretDB 1.24 on PostgreSQL holds a pooled connection for every
      // statement of one update command until the command ends, so a bulk write of more statements than its pool
      // (50) waits on itself forever and stalls the whole server. Parallel single updates are index writes by `_id`.
      let next = 0;
      const lanes = Array.from({ length: Math.min(WRITE_LANES, ops.length) }, async () => {
        while (next < ops.length) {
          const { filter, update } = ops[next++];
          await rm.feedItems.updateOne(filter, update);
        }
      });
      await Promise.all(lanes);
      // Cached first pages were ranked with the provisional (or older) score.
      await invalidateFeeds(db, [...touched]);
    }
    return [found.length, ops.length];
  }
  return { scorePairs, scoreViewers };
}

async function scoreRange(
  { db, graph, config }: ScoringDeps,
  ranking: ReturnType<typeof createRankingActivities>,
  scoreViewers: PairScorer['scoreViewers'],
  input: ScoreRangeInput,
): Promise<ScoreRangeResult> {
  const wm = writeModel(db);
  const rm = readModel(db);
  const ctx = Context.current();
  // The scorer heartbeats too (`{ done }`); only a range checkpoint resumes.
  const details = lastHeartbeat<Partial<RangeCheckpoint>>();
  const resumed = typeof details?.cursor === 'string' ? (details as RangeCheckpoint) : undefined;
  let { cursor, pages, items, written } = resumed ?? { cursor: input.after, pages: 0, items: 0, written: 0 };
  // A page's point writes can outlast the heartbeat timeout on a busy store: keep the checkpoint beating.
  return whileHeartbeating(score, () => ({ cursor, pages, items, written }) satisfies RangeCheckpoint, 2_000);

  async function score(): Promise<ScoreRangeResult> {
    const modelVersion = await ranking.modelVersion();
    const staleOnly = !!input.staleOnly;
    const post = await wm.posts.findOne({ _id: input.postId });
    if (!post || post.deleted) return { cursor: null, pages, items, written, modelVersion, gone: true };

    if (input.includeAuthor && !resumed) {
      const [n, w] = await scoreViewers(post._id, [post.authorId], staleOnly);
      items += n;
      written += w;
    }
    // Only a public post's audience depends on the pull record. A demoting author's posts are pushed to
    // followers again (see activities/pull-transition.ts).
    const pull =
      post.visibility === 'public'
        ? await rm.pullAuthors.findOne({ _id: post.authorId }, { projection: { _id: 1, demoting: 1 } })
        : null;
    const audience = audienceScopeOf(post.visibility, !!pull && !pull.demoting);
    const scope: PushScope | null = audience === 'none' ? null : audience;
    const maxPages = input.maxPages ?? 10;
    for (let run = 0; scope && run < maxPages; run++) {
      ctx.cancellationSignal.throwIfAborted();
      const page = await graph.audiencePage(post.authorId, scope, cursor, config.FANOUT_PAGE_SIZE);
      const inRange = page.members.filter((m) => input.until === null || m.id <= input.until);
      const [n, w] = await scoreViewers(
        post._id,
        inRange.map((m) => m.id),
        staleOnly,
      );
      items += n;
      written += w;
      pages++;
      const done = page.next === null || (input.until !== null && page.next >= input.until);
      if (done) return { cursor: null, pages, items, written, modelVersion, gone: false };
      cursor = page.next!;
      heartbeat({ cursor, pages, items, written } satisfies RangeCheckpoint);
    }
    return { cursor: scope ? cursor : null, pages, items, written, modelVersion, gone: false };
  }
}
type PairScorer = ReturnType<typeof createPairScorer>;

/** The activities of createScoringActivities, as workflows proxy them. */
export interface ScoringActivities {
  scoreRange(input: ScoreRangeInput): Promise<ScoreRangeResult>;
  scoreViewerItems(input: ScoreViewerItemsInput): Promise<ScoreViewerItemsResult>;
  scoreItemPairs(input: { pairs: Array<{ viewerId: string; postId: string }> }): Promise<ScoreViewerItemsResult>;
  rescoreDebounceMs(): Promise<number>;
  requireModelVersion(modelVersion: string): Promise<void>;
  postsPage(req: { after: string; limit: number }): Promise<{ postIds: string[]; next: string | null }>;
}

/**
 * Writing model scores into the feed items the fan-out wrote with a provisional score: the audience is paged from
 * the graph as the fan-out paged it, items are read and written by `_id` only (the one lookup FerretDB pushes
 * down), and a score never replaces one taken at a later time.
 */
export function createScoringActivities(deps: ScoringDeps): ScoringActivities {
  const { db, config } = deps;
  const rm = readModel(db);
  const ranking = createRankingActivities(deps);
  const { scorePairs, scoreViewers } = createPairScorer(deps, ranking);

  return {
    /**
     * Scores a post's items for a range of its audience (see ScoreRangeInput), one graph page and its point writes
     * per heartbeat. Idempotent: a retry re-scores the same items, and the later score wins.
     */
    async scoreRange(input: ScoreRangeInput): Promise<ScoreRangeResult> {
      return scoreRange(deps, ranking, scoreViewers, input);
    },

    /** Scores one viewer's items of these posts: what a backfill delivered. Idempotent; the later score wins. */
    async scoreViewerItems(input: ScoreViewerItemsInput): Promise<ScoreViewerItemsResult> {
      const modelVersion = await ranking.modelVersion();
      const [items, written] = await scorePairs(
        input.postIds.map((postId) => ({ viewerId: input.viewerId, postId })),
        false,
      );
      return { items, written, modelVersion };
    },

    /** Scores these feed items (a repair of unscored items), by (viewer, post). */
    async scoreItemPairs(input: {
      pairs: Array<{ viewerId: string; postId: string }>;
    }): Promise<ScoreViewerItemsResult> {
      const modelVersion = await ranking.modelVersion();
      const [items, written] = await scorePairs(input.pairs, false);
      return { items, written, modelVersion };
    },

    /** The re-scoring debounce this deployment runs with (workflows cannot read config). */
    async rescoreDebounceMs(): Promise<number> {
      return config.RESCORE_DEBOUNCE_MS;
    },

    /** Fails, retryably and typed, until this worker serves `modelVersion`: a rollout waits for the deploy. */
    async requireModelVersion(modelVersion: string): Promise<void> {
      const serving = await ranking.modelVersion();
      if (serving !== modelVersion) {
        throw ApplicationFailure.create({
          type: 'ModelVersionMismatch',
          message: `this worker serves model ${serving}, the rollout wants ${modelVersion}`,
          nonRetryable: false,
        });
      }
    },

    /** A page of live posts in id order, for a rollout to walk. */
    async postsPage(req: { after: string; limit: number }): Promise<{ postIds: string[]; next: string | null }> {
      const docs = await rm.postSummaries
        .find({ _id: { $gt: req.after }, deleted: false }, { projection: { _id: 1 } })
        .sort({ _id: 1 })
        .limit(req.limit)
        .toArray();
      const postIds = docs.map((d) => d._id);
      return { postIds, next: postIds.length < req.limit ? null : postIds[postIds.length - 1] };
    },
  };
}
