import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';

/**
 * The contract between the command side and the projection pipeline: task queues, event types, workflow ids and
 * the inputs and results of every workflow. Plain JSON-safe types only; this file is loaded inside workflows.
 */

export const TASK_QUEUES = {
  /** Fan-out, update, backfill, profile and engagement projections. */
  projection: 'projection',
  /** Deletes and purges, so a delete never waits behind a large fan-out. */
  priority: 'projection-priority',
  /** Scoring, re-scoring and model rollouts, so the fan-out never waits for the model. */
  ranking: 'ranking',
} as const;
export type TaskQueueName = keyof typeof TASK_QUEUES;

export const EVENT_TYPES = [
  'UserRegistered',
  'ProfileUpdated',
  'PostCreated',
  'PostUpdated',
  'PostDeleted',
  'ConnectionRequested',
  'ConnectionAccepted',
  'ConnectionDeclined',
  'ConnectionRemoved',
  'Followed',
  'Unfollowed',
  'Blocked',
  'Unblocked',
  'EngagementRecorded',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The workflow kinds that project events into the read models and the graph. */
export type ProjectionKind = 'fanout' | 'update' | 'delete' | 'backfill' | 'purge' | 'profile' | 'engagement';
/** What operators find runs by, in the FeedOperation search attribute. */
export type FeedOperation =
  | ProjectionKind
  | 'pull-transition'
  | 'trim'
  | 'consistency'
  | 'repair'
  | 'rebuild'
  | 'replay'
  | 'replay-failed'
  | 'outbox';

export const PROJECTION_KINDS: readonly ProjectionKind[] = [
  'fanout',
  'update',
  'delete',
  'backfill',
  'purge',
  'profile',
  'engagement',
];

interface Route {
  kind: ProjectionKind;
  workflowType: string;
  queue: TaskQueueName;
  /** Last segment of the workflow id. */
  verb: string;
}

/**
 * Which workflow projects each event. Events missing here (a pending or declined request) change no read model
 * or graph edge; they are recorded for the audit trail only.
 */
export const PROJECTIONS: Partial<Record<EventType, Route>> = {
  UserRegistered: { kind: 'profile', workflowType: 'profileWorkflow', queue: 'projection', verb: 'registered' },
  ProfileUpdated: { kind: 'profile', workflowType: 'profileWorkflow', queue: 'projection', verb: 'profile' },
  PostCreated: { kind: 'fanout', workflowType: 'fanoutPostWorkflow', queue: 'projection', verb: 'created' },
  PostUpdated: { kind: 'update', workflowType: 'updatePostWorkflow', queue: 'projection', verb: 'updated' },
  PostDeleted: { kind: 'delete', workflowType: 'deletePostWorkflow', queue: 'priority', verb: 'deleted' },
  ConnectionAccepted: { kind: 'backfill', workflowType: 'backfillWorkflow', queue: 'projection', verb: 'accepted' },
  Followed: { kind: 'backfill', workflowType: 'backfillWorkflow', queue: 'projection', verb: 'followed' },
  ConnectionRemoved: { kind: 'purge', workflowType: 'purgeWorkflow', queue: 'priority', verb: 'removed' },
  Unfollowed: { kind: 'purge', workflowType: 'purgeWorkflow', queue: 'priority', verb: 'unfollowed' },
  Blocked: { kind: 'purge', workflowType: 'purgeWorkflow', queue: 'priority', verb: 'blocked' },
  // An unblock re-opens nothing by itself (the block ended every edge); the purge workflow syncs the graph.
  Unblocked: { kind: 'purge', workflowType: 'purgeWorkflow', queue: 'priority', verb: 'unblocked' },
  EngagementRecorded: {
    kind: 'engagement',
    workflowType: 'engagementWorkflow',
    queue: 'projection',
    verb: 'engaged',
  },
};

export type AggregateType = 'user' | 'post' | 'relationship' | 'engagement';

/**
 * Deterministic event id, which is also the projecting workflow's id: `post/{postId}/v{version}/created`.
 * Starting the same id twice is harmless (Temporal rejects the duplicate start).
 */
export function eventIdFor(
  aggregateType: AggregateType,
  aggregateId: string,
  version: number,
  type: EventType,
): string {
  const verb = PROJECTIONS[type]?.verb ?? type.replace(/^Connection/, '').toLowerCase();
  return `${aggregateType}/${aggregateId}/v${version}/${verb}`;
}

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

export interface PingInput {
  message: string;
}

export interface PingResult {
  message: string;
  mongoRoundTrip: boolean;
  graphRoundTrip: boolean;
}

/** Custom search attributes (registered by the stack script) that let operators find projections in the UI. */
export const SEARCH_ATTRIBUTES = {
  postId: defineSearchAttributeKey('PostId', SearchAttributeType.KEYWORD),
  authorId: defineSearchAttributeKey('AuthorId', SearchAttributeType.KEYWORD),
  viewerId: defineSearchAttributeKey('ViewerId', SearchAttributeType.KEYWORD),
  feedOperation: defineSearchAttributeKey('FeedOperation', SearchAttributeType.KEYWORD),
};

// ---------- Projection workflows: inputs, results and queries (owned by the projection pipeline) ----------

/** Who a post is pushed to: nobody else (private), accepted connections, or connections and followers. */
export type AudienceScope = 'none' | 'connections' | 'connections+followers';

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

export const progressQuery = defineQuery<FanoutProgress>('progress');

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

/** Scores one viewer's items of these posts (a backfill's delivery) on the ranking queue. */
export interface ScoreViewerItemsInput {
  viewerId: string;
  postIds: string[];
}

export interface ScoreViewerItemsResult {
  items: number;
  written: number;
  modelVersion: string;
}

/**
 * Feeds are trimmed to the cap by a sweep, at most once per interval: the fan-outs and backfills of an interval
 * start the sweep of the interval before (workflow id `trim/feeds/{interval}`), so a feed may overshoot the cap by
 * what it receives in about two intervals.
 */
export const FEED_TRIM_INTERVAL_MS = 5 * 60_000;

export interface TrimFeedsInput {
  /** Viewers written to since this ISO time are checked. */
  since: string;
}

export interface TrimFeedsResult {
  viewers: number;
  trimmedViewers: number;
  trimmed: number;
}

// ---------- Ranking workflows: inputs, results and signals (scoring on the `ranking` queue) ----------

/** The workflow types on the ranking queue, for the replay fixtures. */
export const RANKING_WORKFLOW_TYPES = [
  'scoreFeedItemsWorkflow',
  'rescorePostWorkflow',
  'modelRolloutWorkflow',
] as const;

/**
 * The same deployment's queue of another kind: a workflow on `{prefix}projection` finds `{prefix}ranking`. Queue
 * names carry the deployment's TASK_QUEUE_PREFIX, which workflows cannot read from config.
 */
export function siblingQueue(taskQueue: string, kind: TaskQueueName): string {
  const known = Object.values(TASK_QUEUES).sort((a, b) => b.length - a.length);
  const own = known.find((q) => taskQueue.endsWith(q));
  return (own ? taskQueue.slice(0, taskQueue.length - own.length) : '') + TASK_QUEUES[kind];
}

/**
 * Scores a post's feed items for a range of its audience: viewers after `after` up to and including `until` (null:
 * to the end), in graph order, plus the author's own item when `includeAuthor`. Ids, not documents.
 */
export interface ScoreRangeInput {
  postId: string;
  /** Resume after this viewer id ('' from the start). */
  after: string;
  /** Last viewer id of the range, inclusive; null to the end of the audience. */
  until: string | null;
  includeAuthor: boolean;
  /** Only items whose stored model version differs from the serving one (a rollout); default: every item. */
  staleOnly?: boolean;
  /** Audience pages per activity call; the activity returns its cursor after them. */
  maxPages?: number;
}

export interface ScoreRangeResult {
  /** Where the next call resumes, or null when the range is done. */
  cursor: string | null;
  pages: number;
  /** Items read back from the read model (the audience members that hold the post). */
  items: number;
  /** Items whose score was written (older scores only; a newer one wins). */
  written: number;
  modelVersion: string;
  /** The post is gone: nothing left to score. */
  gone: boolean;
}

export interface ScoreFeedItemsResult {
  postId: string;
  items: number;
  written: number;
  modelVersion: string | null;
}

/** Engagement marks a post dirty; the post's re-scoring workflow coalesces the marks of one debounce interval. */
export const postDirtySignal = defineSignal('postDirty');

export interface RescorePostInput {
  postId: string;
  /** Carried across continue-as-new: a mark arrived after the last pass. */
  dirty?: boolean;
  /** Passes so far, for the operator. */
  passes?: number;
}

export interface RescorePostResult {
  postId: string;
  passes: number;
  written: number;
}

export interface ModelRolloutInput {
  /** The version the ranking workers now serve; the rollout fails over to retries until they do. */
  modelVersion: string;
  /** Resume after this post id ('' from the start). */
  cursor?: string;
  /** Posts per page of the rollout. */
  postsPerPage?: number;
  /** Pause between pages, so a rollout never crowds out fresh scoring. */
  pauseMs?: number;
  /** Carried across continue-as-new. */
  postsDone?: number;
  written?: number;
}

export interface ModelRolloutResult {
  modelVersion: string;
  postsDone: number;
  written: number;
}

// ---------- Consistency checks, repairs and operations (projection queue) ----------

/**
 * What a check can find, one feed item (post × viewer) per finding:
 * - `missing`: a member of the post's push audience lacks the item;
 * - `blocked`: the item is in a feed whose owner and author block each other;
 * - `not_visible`: the post's visibility no longer admits the viewer (unfollowed, connection removed);
 * - `stale`: the item holds another version or content than the write model;
 * - `deleted`: the post is deleted (or unknown) and the item is still there;
 * - `unscored`: the item has no model score past the scoring window.
 */
export const FINDING_KINDS = ['missing', 'blocked', 'not_visible', 'stale', 'deleted', 'unscored'] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

export interface Finding {
  kind: FindingKind;
  postId: string;
  viewerId: string;
}

export type CheckScope = 'recent' | 'deep';

export interface ConsistencyCheckInput {
  scope: CheckScope;
  /** Recent: how far back to look. */
  windowMs?: number;
  /** Recent: events younger than this are still projecting. */
  settleMs?: number;
  /** An item unscored this long after projection is a finding. */
  scoreWindowMs?: number;
  /** Deep: members to sample; or the members to check. */
  sample?: number;
  viewerIds?: string[];
  /** Findings are repaired unless false. */
  repair?: boolean;
}

export interface CheckRecentInput {
  windowMs: number;
  settleMs: number;
  scoreWindowMs: number;
  /** ISO time the window ends (the workflow's start, minus the settle time): fixed so retries check the same events. */
  until: string;
}

export interface CheckMembersInput {
  viewerIds?: string[];
  sample: number;
  scoreWindowMs: number;
}

export interface CheckResult {
  eventsChecked: number;
  membersChecked: number;
  findings: Finding[];
  /** Findings past the per-run limit were counted but not listed (the next run sees them again). */
  truncated: number;
}

export interface RepairResult {
  /** Findings repaired, by kind. */
  repaired: Partial<Record<FindingKind, number>>;
  /** Items the repair wrote, to be scored like any new item. */
  written: Array<{ viewerId: string; postId: string }>;
}

export interface FindingCount {
  kind: FindingKind;
  found: number;
  repaired: number;
  failed: number;
}

/** A check's report, stored in `consistency_reports` and returned by OperationsService. */
export interface ConsistencyReport {
  workflowId: string;
  scope: CheckScope;
  startedAt: string;
  finishedAt: string;
  eventsChecked: number;
  membersChecked: number;
  counts: FindingCount[];
  samples: Finding[];
  found: number;
  repaired: number;
  failed: number;
}

export interface RebuildFeedInput {
  viewerId: string;
}

export interface RebuildFeedResult {
  viewerId: string;
  /** Pushed items the rebuilt feed holds. */
  items: number;
  written: number;
  removed: number;
  /**
   * Read-time items GetFeed merges beside them: followed popular authors' posts, and discovery. Absent from
   * results of rebuilds that ran before they were counted.
   */
  pulled?: number;
  discovery?: number;
}

export interface ReplayFanoutInput {
  postId: string;
}

export interface ReplayProjection {
  input: ProjectionInput;
  version: number;
  deleted: boolean;
  actorId: string;
}

export interface ReplayFanoutResult {
  postId: string;
  version: number;
  itemsWritten: number;
  purged: number;
  deleted: boolean;
}

export interface OutboxSweepResult {
  started: number;
}

/** Projections whose latest run closed in one of these states may be started again under the same id. */
export const REPLAYABLE_STATUSES = ['Failed', 'TimedOut', 'Terminated', 'Canceled'] as const;

/** Which failed projections a listing or a batch replay covers; ISO times, every field optional. */
export interface FailedProjectionFilter {
  kind?: ProjectionKind;
  postId?: string;
  viewerId?: string;
  closedAfter?: string;
  closedBefore?: string;
  failureContains?: string;
}

/** How to start a failed projection again: its own id, type, queue and input, read from its event. */
export interface ProjectionRestart {
  workflowId: string;
  workflowType: string;
  taskQueue: string;
  args: ProjectionInput[];
  /** Search attribute name → value, so the new run is found like the first. */
  searchAttributes: Record<string, string>;
  /** The deployment's PROJECTION_TIMEOUT_MS; 0: none. */
  executionTimeoutMs: number;
}

export interface FailedProjectionPage {
  restarts: ProjectionRestart[];
  /** Failed runs matched on this page whose event is gone: nothing to start them from. */
  unreplayable: number;
  /** Opaque visibility page token (base64), or null after the last page. */
  next: string | null;
}

export interface ReplayBatchProgress {
  matched: number;
  replayed: number;
  skipped: number;
  failed: number;
  itemsWritten: number;
  done: boolean;
}

export interface ReplayFailedInput {
  /** closedBefore is always set: the batch covers failures up to its start, never its own replays. */
  filter: FailedProjectionFilter;
  ratePerSecond: number;
  maxConcurrent: number;
  /** Set by the workflow's own continue-as-new. */
  pageToken?: string;
  progress?: ReplayBatchProgress;
}

export const batchProgressQuery = defineQuery<ReplayBatchProgress>('progress');

/** Feed items a finished workflow's result says it wrote; 0 for kinds that write none. */
export function itemsWrittenOf(workflowType: string, result: unknown): number {
  const r = (result ?? {}) as Record<string, unknown>;
  const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  switch (workflowType) {
    case 'fanoutPostWorkflow':
    case 'replayFanoutWorkflow':
    case 'replayFailedProjectionsWorkflow':
      return n(r.itemsWritten);
    case 'updatePostWorkflow':
      return n(r.itemsUpdated);
    case 'profileWorkflow':
      return n(r.itemsRefreshed);
    case 'rebuildFeedWorkflow':
      return n(r.written);
    case 'consistencyCheckWorkflow':
      return n(r.repaired);
    case 'backfillWorkflow':
      return Object.values((r.backfilled ?? {}) as Record<string, unknown>).reduce<number>((a, v) => a + n(v), 0);
    default:
      return 0;
  }
}

/** The schedules a deployment runs, by id suffix (ids carry TASK_QUEUE_PREFIX). */
export const SCHEDULES = {
  recentCheck: 'feedflow-consistency-recent',
  deepCheck: 'feedflow-consistency-deep',
  outboxSweep: 'feedflow-outbox-sweep',
} as const;
