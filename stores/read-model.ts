import type { Collection, Db } from 'mongodb';
import { feedItemId } from '../domain/ids';
import { type PushedReason, type ScoringReason, scoringReasonOf } from '../domain/reasons';
import type { Visibility } from '../domain/visibility';
import { provisionalScore } from '../ranking/provisional';
import type { PostDoc, PostType, UserDoc } from './write-model';

/**
 * The read models the projection pipeline maintains: their documents, collections and indexes. Every write is keyed
 * by a business id and guarded by a version, so a retry, a replay or a late, out-of-order activity changes nothing
 * (stores/feed-items.ts, stores/post-summaries.ts).
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

/** The snapshot of a member that items show. */
export function actorSnapshot(user: UserDoc): ActorSnapshot {
  return {
    id: user._id,
    name: user.displayName,
    headline: user.headline,
    imageUrl: user.imageUrl,
    version: user.version,
  };
}

/** The item of one post version in one viewer's feed, scored provisionally until the model scores it. */
export function feedItem(
  post: PostDoc,
  actor: ActorSnapshot,
  viewerId: string,
  reason: PushedReason,
  acceptedAt: Date,
  projectedAt: Date,
  /** The relationship a backfilled item is scored as until the model scores it; a follow if not given. */
  scoredAs?: ScoringReason,
): FeedItemDoc {
  return {
    _id: feedItemId(viewerId, post._id),
    viewerId,
    postId: post._id,
    version: post.version,
    actor,
    type: post.type,
    content: post.content,
    mediaUrls: post.mediaUrls ?? [],
    visibility: post.visibility,
    createdAt: post.createdAt,
    acceptedAt,
    projectedAt,
    score: provisionalScore(scoredAs ?? scoringReasonOf(reason)),
    modelVersion: null,
    reason,
  };
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

/** The score of an item nothing has scored, and the fallback for one whose stored score is unusable. */
export const NEUTRAL_SCORE = 1;

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
