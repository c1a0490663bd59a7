import { defineQuery } from '@temporalio/workflow';
import type { CheckScope, Finding, FindingKind } from '../../domain/findings';
import type { WorkflowType } from '../registry';
import type { ProjectionKind } from '../routing';
import type { ProjectionInput } from './projection';

/** Consistency checks, repairs, rebuilds, replays and the outbox sweep (projection queue). Plain JSON-safe types. */

export interface PingInput {
  message: string;
}

export interface PingResult {
  message: string;
  mongoRoundTrip: boolean;
  graphRoundTrip: boolean;
}

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
  workflowType: WorkflowType;
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
