import { defineQuery } from '@temporalio/workflow';
import type { EventType } from '../../domain/events';
import type { AudienceScope } from '../../domain/visibility';

/**
 * The projection workflows' inputs, results and queries: what the command side hands over, and what each fan-out,
 * update, delete, backfill, purge, profile, engagement, pull-transition and trim run answers. Plain JSON-safe types.
 */

/**
 * The input of every projection workflow: the event's identity and the few fields routing needs.
 * Activities load anything bigger from the event store and the write model by id.
 */
export interface ProjectionInput {
  eventId: string;
  type: EventType;
  aggregateId: string;
  version: number;
  /** ISO time the command was accepted; lag is measured from here. */
  acceptedAt: string;
  /** The member whose action it was (author, follower, blocker, ...). */
  actorId: string;
  /** The other member, for relationship events. */
  subjectId?: string;
  /** The post, for post and engagement events. */
  postId?: string;
}

/** What the fan-out learned before paging: small, so it can ride along a continue-as-new. */
export interface FanoutPlan {
  postId: string;
  authorId: string;
  /** The post version the fan-out writes (the newest when it started). */
  version: number;
  /** The author's profile version in the items written. */
  actorVersion: number;
  scope: AudienceScope;
  /** Members the post is pushed to, besides the author. */
  audienceSize: number;
  /** More followers than PULL_AUTHOR_THRESHOLD: followers pull this post at read time. */
  pullAuthor: boolean;
  /** Set when there is nothing to fan out (the post was already deleted). */
  skipped?: 'deleted';
  /** The author fell back under the threshold with this post: the pull transition to start. */
  demotion?: PullTransitionInput;
}

/** The `progress` query's answer; also what a continued run carries forward. */
export interface FanoutProgress {
  pagesDone: number;
  itemsWritten: number;
  /** Last viewer id written; paging resumes after it. Null before the first page and after the last. */
  cursor: string | null;
  audienceSize: number;
  done: boolean;
}

/** The second argument of `fanoutPostWorkflow`, set only by its own continue-as-new. */
export interface FanoutCarry {
  plan: FanoutPlan;
  progress: FanoutProgress;
}

export interface FanoutSliceInput {
  postId: string;
  authorId: string;
  scope: Exclude<AudienceScope, 'none'>;
  /** Resume after this viewer id ('' from the start). */
  cursor: string;
  maxPages: number;
  acceptedAt: string;
}

export interface FanoutSliceResult {
  /** Null once the audience is exhausted. */
  cursor: string | null;
  pages: number;
  written: number;
  /** The post was deleted while paging; the fan-out stops. */
  deleted: boolean;
}

export interface FanoutResult {
  postId: string;
  version: number;
  audienceSize: number;
  pagesDone: number;
  itemsWritten: number;
  pullAuthor: boolean;
  skipped?: 'deleted';
}

export const progressQuery = defineQuery<FanoutProgress>('progress');

export interface PostUpdateResult {
  postId: string;
  version: number;
  itemsUpdated: number;
}

export interface PostDeleteResult {
  postId: string;
  itemsPurged: number;
}

/** The two members of a relationship event, after their edges were synced to the graph. */
export interface RelationshipSync {
  a: string;
  b: string;
  edgesApplied: number;
}

/** One direction of a backfill: `viewerId` receives `authorId`'s recent posts that they may now see. */
export interface BackfillInput {
  viewerId: string;
  authorId: string;
  /** The relationship event's acceptance time: the 7-day window ends here, so a replay picks the same posts. */
  acceptedAt: string;
}

export interface BackfillFeedResult {
  written: number;
  /** The posts delivered (when the relationship still allows them), for scoring. */
  postIds: string[];
}

export interface BackfillResult {
  /** Items written per viewer. */
  backfilled: Record<string, number>;
}

export interface PurgeResult {
  /** Items removed per viewer. */
  purged: Record<string, number>;
}

export interface ProfileResult {
  userId: string;
  version: number;
  itemsRefreshed: number;
}

export interface EngagementResult {
  postId: string;
  likes: number;
  comments: number;
  shares: number;
  views: number;
}

/**
 * A pull author fell back under PULL_AUTHOR_THRESHOLD: their recent public posts, which followers read by pull, are
 * pushed to every follower before the pull record goes (workflow id `pull-transition/author/{authorId}/{stamp}`).
 */
export interface PullTransitionInput {
  authorId: string;
  /** The pull record's `updatedAt` in ms when the demotion was seen: one transition per state of the record. */
  stamp: number;
  /** ISO creation time of the post that saw the demotion: the pull lookback window ends here. */
  at: string;
}

/** What the transition delivers, decided once, so retries and continued runs push the same posts. */
export interface PullTransitionPlan {
  /** The record changed or went since the demotion was seen (the author is pull again, or another run finished). */
  superseded: boolean;
  /** The author's public posts from the window, newest first. */
  postIds: string[];
  /** ISO: posts from here on are pushed; earlier ones of the pull period stay unpushed. */
  windowStart: string;
  /** ISO: when the pull period began (the epoch for records older than this field). */
  pulledSince: string;
}

/** The second argument of `pullTransitionWorkflow`, set only by its own continue-as-new. */
export interface PullTransitionCarry {
  plan: PullTransitionPlan;
  cursor: string;
  pages: number;
  written: number;
}

export interface PullTransitionSliceInput {
  authorId: string;
  postIds: string[];
  cursor: string;
  maxPages: number;
  /** The demoting post's creation time, recorded as the items' accepted time. */
  acceptedAt: string;
}

export interface PullTransitionSliceResult {
  /** Null once the audience is exhausted. */
  cursor: string | null;
  pages: number;
  written: number;
}

export interface PullTransitionResult {
  authorId: string;
  superseded: boolean;
  posts: number;
  pages: number;
  written: number;
  /** The pull record was removed (false when the author crossed the threshold again meanwhile). */
  recordRemoved: boolean;
}

/**
 * Feeds are trimmed to the cap by a sweep on the `feedflow-feed-trim` Schedule, once per interval, over the feeds
 * written in the last two intervals: a feed may overshoot the cap by what it receives in about two intervals.
 */
export const FEED_TRIM_INTERVAL_MS = 5 * 60_000;

export interface TrimFeedsInput {
  /** Viewers written to since this ISO time are checked (runs started by fan-outs before the Schedule). */
  since?: string;
  /** Or: viewers written to in this many ms before the run started (the Schedule's runs). */
  windowMs?: number;
}

export interface TrimFeedsResult {
  viewers: number;
  trimmedViewers: number;
  trimmed: number;
}

/**
 * A workflow a projection leaves running behind it (scoring, re-scoring, a pull transition), started through the
 * worker's client by the `startDetached` local activity rather than as a child, so it costs the starter no workflow
 * task of its own. The id makes the start idempotent.
 */
export interface DetachedStart {
  workflowType: string;
  workflowId: string;
  /** The queue kind; the activity adds the starter's deployment prefix. */
  queue: 'projection' | 'priority' | 'ranking';
  args: unknown[];
  /**
   * Work that must happen eventually: an id whose run failed or timed out may start again, and a run has a day.
   * Otherwise the id is never reused and a run nobody picks up ends after an hour.
   */
  retryFailed?: boolean;
  /** Signal-with-start: the signal reaches a running workflow of this id, or a new one started with `args`. */
  signal?: string;
  /** Search attributes operators find the run by (FeedOperation, AuthorId, ...), by their registered names. */
  searchAttributes?: Record<string, string>;
}

/**
 * The pull transition's signature: the workflows that start it check their arguments against this, not against
 * the workflow itself, which imports them (test/unit/registry.test.ts holds the workflow to it).
 */
export type PullTransitionWorkflow = (
  input: PullTransitionInput,
  carry?: PullTransitionCarry,
) => Promise<PullTransitionResult>;
