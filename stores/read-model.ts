import { type Collection, type Db, type Document, type Filter, MongoBulkWriteError, MongoServerError } from 'mongodb';
import { bucketsBetween, invalidateFeeds, timeBucket } from './feed-cache';
import { lookupFor } from './lookup';
import type { PostType } from './write-model';
import type { Visibility } from '../domain/visibility';
import type { PushedReason } from '../domain/reasons';

/**
 * The read models the projection pipeline maintains. Every write is keyed by a business id and guarded by a
 * version, so a retry, a replay or a late, out-of-order activity changes nothing.
 *
 * Writes insert first and touch existing items by `_id`: one round trip for a new page, and on FerretDB every filter
 * an equality its GIN indexes serve (stores/pushdown.ts).
 */

/** How the author looked when the item was written; refreshed by the profile projection. */
export interface ActorSnapshot {
  id: string;
  name: string;
  headline: string;
  imageUrl: string;
  /** The user document's version, which guards refreshes. */
  version: number;
}

/** One post in one viewer's feed. */
export interface FeedItemDoc {
  /** `{viewerId}:{postId}`. */
  _id: string;
  viewerId: string;
  postId: string;
  /** The post version this item shows; an item never goes back to an older one. */
  version: number;
  actor: ActorSnapshot;
  type: PostType;
  content: string;
  mediaUrls: string[];
  visibility: Visibility;
  /** When the post was created: the feed's sort key. */
  createdAt: Date;
  /** When the command behind this write was accepted; `projectedAt - acceptedAt` is the projection lag. */
  acceptedAt: Date;
  projectedAt: Date;
  /**
   * `projectedAt` in whole minutes, set by the write helpers: the cap sweep and the lag report find recent writes by
   * this equality, which FerretDB serves from an index (it pushes down no ranges).
   */
  projectedMinute?: number;
  /** Relevance; neutral until ranking scores the item. */
  score: number;
  modelVersion: string | null;
  /** When the model last scored the item (absent while provisional); an older scoring never replaces a newer. */
  scoredAt?: Date;
  reason: PushedReason;
}

/** The fields a newer post version or a profile change may rewrite on an existing item. */
export type FeedItemContent = Pick<
  FeedItemDoc,
  'version' | 'actor' | 'type' | 'content' | 'mediaUrls' | 'visibility' | 'acceptedAt' | 'projectedAt'
>;

export interface EngagementCounts {
  likes: number;
  comments: number;
  shares: number;
  views: number;
}

/** One document per post: its tombstone, audience size and engagement counters, read by id. */
export interface PostSummaryDoc {
  _id: string;
  authorId: string;
  version: number;
  visibility: Visibility;
  createdAt: Date;
  deleted: boolean;
  audienceSize: number;
  engagement: EngagementCounts;
  /** Engagements counted; only grows, so it guards the counters against a slower, older recount. */
  engagementTotal: number;
  /** Set when the post's fan-out finished: the whole audience has been written. */
  fannedOut?: boolean;
  updatedAt: Date;
}

/**
 * Authors whose followers pull their posts at read time instead of receiving a push. The record outlives a
 * demotion until its pull transition has pushed the recent posts, so followers never see a gap.
 */
export interface PullAuthorDoc {
  _id: string;
  followers: number;
  /** Every fan-out that finds the author above the threshold sets it; a transition removes only the state it saw. */
  updatedAt: Date;
  /** Creation time of the post that crossed the threshold: later posts are not pushed to followers. */
  since?: Date;
  /** Set while a pull transition pushes the recent posts: new posts are pushed again, the query still pulls. */
  demoting?: { at: Date };
}

/**
 * A pull period that ended with posts its transition did not push (older than the pull lookback): followers never
 * received the author's public posts created in [from, to). The expected-feed model skips them.
 */
export interface PullGapDoc {
  /** `{authorId}:{stamp}`, one per transition. */
  _id: string;
  authorId: string;
  from: Date;
  to: Date;
}

/** Per-member counts for profile pages and ranking features. */
export interface NetworkSummaryDoc {
  _id: string;
  connections: number;
  followers: number;
  following: number;
  updatedAt: Date;
}

export const NEUTRAL_SCORE = 1;
const ZERO_ENGAGEMENT: EngagementCounts = { likes: 0, comments: 0, shares: 0, views: 0 };

export interface ReadModel {
  feedItems: Collection<FeedItemDoc>;
  postSummaries: Collection<PostSummaryDoc>;
  pullAuthors: Collection<PullAuthorDoc>;
  pullGaps: Collection<PullGapDoc>;
  networkSummaries: Collection<NetworkSummaryDoc>;
}

export function readModel(db: Db): ReadModel {
  return {
    feedItems: db.collection<FeedItemDoc>('feed_items'),
    postSummaries: db.collection<PostSummaryDoc>('post_summaries'),
    pullAuthors: db.collection<PullAuthorDoc>('pull_authors'),
    pullGaps: db.collection<PullGapDoc>('pull_gaps'),
    networkSummaries: db.collection<NetworkSummaryDoc>('network_summaries'),
  };
}

/** Creates the read models' indexes; safe to call on every start. */
export async function ensureReadModelIndexes(db: Db): Promise<void> {
  const rm = readModel(db);
  await Promise.all([
    // The feed query: a viewer's items newest first, ties broken by post id.
    rm.feedItems.createIndex({ viewerId: 1, createdAt: -1, postId: -1 }, { name: 'viewer_recent' }),
    rm.feedItems.createIndex({ postId: 1 }, { name: 'post' }),
    rm.feedItems.createIndex({ 'actor.id': 1 }, { name: 'actor' }),
    rm.feedItems.createIndex({ projectedAt: -1 }, { name: 'projected' }),
    rm.feedItems.createIndex({ projectedMinute: 1 }, { name: 'projected_minute' }),
    rm.postSummaries.createIndex({ authorId: 1, createdAt: -1 }, { name: 'author_recent' }),
  ]);
}

const isDuplicateKey = (err: unknown) => err instanceof MongoServerError && err.code === 11000;

/** Runs `fn` over `items` with at most `limit` in flight. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(lanes);
}

export const PROJECTED_BUCKET_MS = 60_000;

const projectedMinuteOf = (at: Date): number => timeBucket(at.getTime(), PROJECTED_BUCKET_MS);

/** Writers' clocks may run ahead of ours; items stamped up to this far in the future still count as recent. */
const CLOCK_SKEW_MS = 10 * 60_000;

/** The minutes an item projected since `since` can carry. */
const recentMinutes = (since: Date): number[] =>
  bucketsBetween(since.getTime(), Math.max(Date.now(), since.getTime()) + CLOCK_SKEW_MS, PROJECTED_BUCKET_MS);

function contentOf(item: FeedItemDoc): FeedItemContent & { projectedMinute: number } {
  const { version, actor, type, content, mediaUrls, visibility, acceptedAt, projectedAt } = item;
  const projectedMinute = projectedMinuteOf(projectedAt);
  return { version, actor, type, content, mediaUrls, visibility, acceptedAt, projectedAt, projectedMinute };
}

export interface FeedWriteResult {
  /** New items. */
  inserted: number;
  /** Existing items moved to a newer version. */
  upgraded: number;
  /** Items already at this version or a newer one (replays). */
  unchanged: number;
}

/**
 * Writes feed items, guarded by version: new items are inserted in one batch; an item that already exists is
 * moved forward only if it holds an older version. Replaying the same page therefore changes nothing.
 */
export async function writeFeedItems(rm: ReadModel, page: FeedItemDoc[]): Promise<FeedWriteResult> {
  const result: FeedWriteResult = { inserted: 0, upgraded: 0, unchanged: 0 };
  if (page.length === 0) return result;
  const items = page.map((item) => ({ ...item, projectedMinute: projectedMinuteOf(item.projectedAt) }));
  let existing: FeedItemDoc[] = [];
  try {
    result.inserted = (await rm.feedItems.insertMany(items, { ordered: false })).insertedCount;
  } catch (err) {
    if (!(err instanceof MongoBulkWriteError)) throw err;
    const errors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
    const other = errors.find((e) => e.code !== 11000);
    if (other) throw new Error(`feed item write failed: ${other.errmsg ?? other.code}`, { cause: err });
    // Only what the server confirmed counts: every item must be either inserted or a reported duplicate. A
    // batch-level failure (the store refusing a batch, a dropped connection) reports neither for some items, and
    // those may be missing, so the write fails and Temporal retries the page, where they insert or are duplicates.
    const unconfirmed = items.length - err.insertedCount - errors.length;
    if (unconfirmed > 0) {
      throw new Error(
        `feed item write unconfirmed: ${unconfirmed} of ${items.length} items neither inserted nor duplicates ` +
          `(${err.message}); retrying`,
        { cause: err },
      );
    }
    existing = errors.map((e) => items[e.index]);
    result.inserted = err.insertedCount;
  }
  // Versions start at 1, so an existing item can never be older than a version-1 write: skip the reads. This
  // makes a replayed fan-out of a never-edited post as cheap as the first run.
  result.unchanged += existing.filter((item) => item.version <= 1).length;
  existing = existing.filter((item) => item.version > 1);
  await eachLimited(existing, 16, async (item) => {
    const current = await rm.feedItems.findOne({ _id: item._id }, { projection: { version: 1 } });
    if (current && current.version >= item.version) {
      result.unchanged++;
      return;
    }
    if (!current) {
      // Purged between the insert and this read: write it again, as a retry would.
      try {
        await rm.feedItems.insertOne(item);
        result.inserted++;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        result.unchanged++;
      }
      return;
    }
    const res = await rm.feedItems.updateOne(
      { _id: item._id, version: { $lt: item.version } },
      { $set: contentOf(item) },
    );
    if (res.modifiedCount) result.upgraded++;
    else result.unchanged++;
  });
  return result;
}

/** Moves every existing item of a post to a newer version; items at that version or newer are left alone. */
export async function updatePostItems(
  rm: ReadModel,
  postId: string,
  fields: Omit<FeedItemContent, 'actor'>,
): Promise<number> {
  const res = await rm.feedItems.updateMany(
    { postId, version: { $lt: fields.version } },
    { $set: { ...fields, projectedMinute: projectedMinuteOf(fields.projectedAt) } },
  );
  return res.modifiedCount;
}

/** Rewrites the actor snapshot in every item by this actor that shows an older profile version. */
export async function refreshActorItems(rm: ReadModel, actor: ActorSnapshot): Promise<number> {
  const res = await rm.feedItems.updateMany(
    { 'actor.id': actor.id, 'actor.version': { $lt: actor.version } },
    { $set: { actor } },
  );
  // Cached pages showing this author's items must not outlive the refresh.
  if (res.modifiedCount) await invalidateFeeds(rm.feedItems.db, [], { authorId: actor.id });
  return res.modifiedCount;
}

/** Removes a post from every feed; returns how many items went. */
export async function deletePostItems(rm: ReadModel, postId: string): Promise<number> {
  return (await rm.feedItems.deleteMany({ postId })).deletedCount;
}

/**
 * Removes an author's items from one viewer's feed. `keepPublic` keeps public posts (the viewer still follows),
 * so only posts shared with connections go.
 */
export async function purgeAuthorItems(
  rm: ReadModel,
  viewerId: string,
  authorId: string,
  keepPublic: boolean,
): Promise<number> {
  const filter = { viewerId, 'actor.id': authorId, ...(keepPublic ? { visibility: { $ne: 'public' as const } } : {}) };
  return (await rm.feedItems.deleteMany(filter)).deletedCount;
}

/** Keeps a viewer's newest `cap` items and deletes the rest; returns how many went. */
async function trimViewer(rm: ReadModel, viewerId: string, cap: number): Promise<number> {
  const stale = await rm.feedItems
    .find({ viewerId }, { projection: { _id: 1 } })
    .sort({ createdAt: -1, postId: -1 })
    .skip(cap)
    .toArray();
  const lookup = await lookupFor(rm.feedItems.db);
  let trimmed = 0;
  for (let i = 0; i < stale.length; i += 500) {
    trimmed += await lookup.deleteByIds(
      rm.feedItems,
      stale.slice(i, i + 500).map((d) => d._id),
    );
  }
  return trimmed;
}

/**
 * Streams `viewerId` of the items matching each filter, in batches, pausing between batches: a sweep is background
 * work and must leave the store to the fan-outs.
 */
async function forEachViewerId(
  rm: ReadModel,
  filters: Filter<FeedItemDoc>[],
  pauseMs: number,
  fn: (viewerId: string) => void,
): Promise<void> {
  for (const filter of filters) {
    const cursor = rm.feedItems.find(filter, { projection: { _id: 0, viewerId: 1 }, batchSize: SWEEP_BATCH });
    let n = 0;
    for await (const { viewerId } of cursor) {
      fn(viewerId);
      if (++n % SWEEP_BATCH === 0 && pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
    }
  }
}

const SWEEP_BATCH = 1_000;
/** Past this many recently written viewers, one pass over all feeds is cheaper than counting them chunk by chunk. */
const FULL_SCAN_ABOVE = 2_000;

/**
 * Enforces the per-viewer cap: every viewer written to since `since` keeps their newest `cap` items. Only those
 * viewers can have grown; they are found by the minutes their items were projected in, and counted per viewer.
 */
export async function trimFeedsToCap(
  rm: ReadModel,
  opts: { cap: number; since: Date; pauseMs?: number },
): Promise<{ viewers: number; trimmedViewers: number; trimmed: number }> {
  const pauseMs = opts.pauseMs ?? 0;
  const lookup = await lookupFor(rm.feedItems.db);
  const touched = new Set<string>();
  for (const minute of recentMinutes(opts.since)) {
    const recent = await lookup.byValues(
      rm.feedItems,
      'projectedMinute',
      [minute],
      { projectedAt: { $gte: opts.since } },
      { projection: { viewerId: 1 } },
    );
    for (const { viewerId } of recent) touched.add(viewerId);
    if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
  }
  const ids = [...touched];
  const counts = new Map<string, number>();
  if (ids.length > FULL_SCAN_ABOVE) {
    await forEachViewerId(rm, [{}], pauseMs, (v) => counts.set(v, (counts.get(v) ?? 0) + 1));
  } else {
    for (let i = 0; i < ids.length; i += 200) {
      const rows = await lookup.aggregateByValues<{ _id: string; n: number }>(
        rm.feedItems as unknown as Collection<Document>,
        'viewerId',
        ids.slice(i, i + 200),
        {},
        [{ $group: { _id: '$viewerId', n: { $sum: 1 } } }],
      );
      for (const r of rows) counts.set(r._id, r.n);
      if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
    }
  }
  let trimmed = 0;
  let trimmedViewers = 0;
  for (const [viewerId, n] of counts) {
    if (n <= opts.cap || !touched.has(viewerId)) continue;
    trimmed += await trimViewer(rm, viewerId, opts.cap);
    trimmedViewers++;
  }
  return { viewers: touched.size, trimmedViewers, trimmed };
}

/**
 * Writes a post's summary, guarded by version; returns false when a newer one is already there. Insert first: a
 * new post (the fan-out's case) costs one insert, where a filtered upsert costs FerretDB a scan and a slow write.
 */
export async function upsertPostSummary(
  rm: ReadModel,
  summary: Omit<PostSummaryDoc, 'engagement' | 'engagementTotal' | 'updatedAt'>,
): Promise<boolean> {
  const updatedAt = new Date();
  try {
    await rm.postSummaries.insertOne({ ...summary, engagement: ZERO_ENGAGEMENT, engagementTotal: 0, updatedAt });
    return true;
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
  const { _id, ...fields } = summary;
  const res = await rm.postSummaries.updateOne(
    { _id, version: { $lt: summary.version } },
    { $set: { ...fields, updatedAt } },
  );
  return res.modifiedCount > 0;
}

/** Marks a post deleted at once (the query side hides it) before its items are purged. */
export async function tombstonePost(rm: ReadModel, postId: string, authorId: string, version: number): Promise<void> {
  try {
    await rm.postSummaries.updateOne(
      { _id: postId, version: { $lt: version } },
      {
        $set: { deleted: true, version, authorId, updatedAt: new Date() },
        $setOnInsert: {
          visibility: 'private',
          createdAt: new Date(0),
          audienceSize: 0,
          engagement: ZERO_ENGAGEMENT,
          engagementTotal: 0,
        },
      },
      { upsert: true },
    );
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
}

/** Stores recounted engagement; a recount never replaces one that had seen more engagements. */
export async function setEngagement(
  rm: ReadModel,
  postId: string,
  engagement: EngagementCounts,
  total: number,
): Promise<boolean> {
  try {
    const res = await rm.postSummaries.updateOne(
      { _id: postId, engagementTotal: { $lt: total } },
      {
        $set: { engagement, engagementTotal: total, updatedAt: new Date() },
        // Engagement can be projected before the post's own summary; version 0 lets that summary land later.
        $setOnInsert: {
          authorId: '',
          version: 0,
          visibility: 'private',
          createdAt: new Date(0),
          deleted: false,
          audienceSize: 0,
        },
      },
      { upsert: true },
    );
    return res.modifiedCount + res.upsertedCount > 0;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}

export interface LagDistribution {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  /** Items per upper bound in ms (`Infinity` last). */
  histogram: Array<{ le: number; count: number }>;
}

export const LAG_BUCKETS_MS = [10, 30, 50, 100, 150, 200, 500, 1_000, 5_000, Infinity];

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function distribution(values: number[]): LagDistribution {
  const sorted = [...values].sort((a, b) => a - b);
  const histogram = LAG_BUCKETS_MS.map((le) => ({ le, count: 0 }));
  for (const v of sorted) histogram.find((b) => v <= b.le)!.count++;
  return {
    count: sorted.length,
    min: sorted[0] ?? 0,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? 0,
    mean: sorted.length ? sorted.reduce((s, v) => s + v, 0) / sorted.length : 0,
    histogram,
  };
}

/**
 * Projection lag (command accepted → item projected) of the items projected since `since`, optionally for one
 * reason. Values are in milliseconds.
 */
export async function projectionLag(
  rm: ReadModel,
  opts: { since: Date; reason?: PushedReason; limit?: number },
): Promise<LagDistribution> {
  const filter = { projectedAt: { $gte: opts.since }, ...(opts.reason ? { reason: opts.reason } : {}) };
  const minutes = recentMinutes(opts.since);
  const docs = (
    await (
      await lookupFor(rm.feedItems.db)
    ).byValues(rm.feedItems, 'projectedMinute', minutes, filter, {
      projection: { _id: 0, acceptedAt: 1, projectedAt: 1 },
      limit: opts.limit,
    })
  ).slice(0, opts.limit ?? 1_000_000);
  return distribution(docs.map((d) => d.projectedAt.getTime() - d.acceptedAt.getTime()));
}
