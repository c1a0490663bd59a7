import type { Workflow } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  proxyActivities,
  proxyLocalActivities,
  TemporalFailure,
} from '@temporalio/workflow';
import type { createProjectionActivities } from '../activities';
import type { DetachedStart, PullTransitionInput, PullTransitionWorkflow } from '../pipeline/contracts/projection';
import { postDirtySignal, type ScoreRangeInput, type ScoreViewerItemsInput } from '../pipeline/contracts/ranking';
import { WORKFLOW_TYPES, type WorkflowType } from '../pipeline/registry';
import { SEARCH_ATTRIBUTES } from '../pipeline/search-attributes';
import type { rescorePostWorkflow } from './rescore-post';
import { STEP_RETRY } from './retry';
import type { scoreFeedItemsWorkflow } from './score-feed-items';
import type { scoreViewerItemsWorkflow } from './score-viewer-items';

/**
 * How the projections spend server round trips. Temporal charges one per workflow task and per activity, so the
 * short reads and writes of a small projection run as local activities inside the workflow task that started it
 * (one marker event each), independent ones in parallel; a step moves to an activity only when its local tries
 * fail.
 */

type Activities = ReturnType<typeof createProjectionActivities>;

/** Patch id of the local-activity shapes; runs recorded before it replay the legacy shapes in ./legacy. */
export const CHEAP_SHAPES = 'cheap-shapes';

/** A few quick attempts in the worker; past them the step moves to an activity (see localFirst). */
export const local = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { ...STEP_RETRY, maximumAttempts: 3 },
});

/** The activity form of a short step. */
const remote = proxyActivities<Activities>({ startToCloseTimeout: '2 minutes', retry: STEP_RETRY });

/** The heartbeating activity form of a step that may touch every feed holding a post or an author. */
const remoteLong = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '20 seconds',
  retry: STEP_RETRY,
});

/** A failure no retry can mend: the activity said so (the event does not exist). */
function isPermanent(err: TemporalFailure): boolean {
  const failure = err instanceof ActivityFailure ? err.cause : err;
  return failure instanceof ApplicationFailure && failure.nonRetryable === true;
}

/**
 * Runs a step as a local activity, and if its quick attempts fail (a store down, a statement that outgrows 30 s),
 * again as an activity that retries until it succeeds: heartbeating for a step that may grow with the data
 * (`long`). A step that keeps failing is then a pending activity with its attempts and last error, where operators
 * and ListFailedProjections see it, not a retry loop hidden in a worker. Both forms are idempotent, so running the
 * step twice changes nothing. A permanent failure (the event does not exist) fails the workflow at once.
 */
export async function localFirst<T>(step: (a: Activities) => Promise<T>, form: 'short' | 'long' = 'short'): Promise<T> {
  return tryLocal(
    () => step(local),
    () => step(form === 'long' ? remoteLong : remote),
  );
}

/** localFirst over any pair of proxies: the local form first, the activity form once its quick tries fail. */
export async function tryLocal<T>(localStep: () => Promise<T>, activityStep: () => Promise<T>): Promise<T> {
  try {
    return await localStep();
  } catch (err) {
    // A local activity's failure arrives as its own failure (an ApplicationFailure), not wrapped in ActivityFailure.
    if (!(err instanceof TemporalFailure) || err instanceof CancelledFailure || isPermanent(err)) throw err;
    return await activityStep();
  }
}

/** A detached start, its arguments checked against the started workflow's signature. */
function detached<W extends Workflow>(
  workflowType: WorkflowType,
  workflowId: string,
  queue: DetachedStart['queue'],
  args: Parameters<W>,
  opts: Pick<DetachedStart, 'retryFailed' | 'signal' | 'searchAttributes'> = {},
): DetachedStart {
  return { workflowType, workflowId, queue, args, ...opts };
}

/** Scoring of one fan-out range on the ranking queue; the id names the post version and the range's first page. */
export function rangeScoring(version: number, page: number, range: ScoreRangeInput): DetachedStart {
  const id = `score/post/${range.postId}/v${version}/p${page}`;
  return detached<typeof scoreFeedItemsWorkflow>(WORKFLOW_TYPES.scoreFeedItems, id, 'ranking', [range]);
}

/** Scoring of a range under a given id (a pull transition's posts). */
export function rangeScoringAs(workflowId: string, range: ScoreRangeInput): DetachedStart {
  return detached<typeof scoreFeedItemsWorkflow>(WORKFLOW_TYPES.scoreFeedItems, workflowId, 'ranking', [range]);
}

/** Scoring of what a backfill delivered to one viewer. */
export function viewerScoring(workflowId: string, input: ScoreViewerItemsInput): DetachedStart {
  return detached<typeof scoreViewerItemsWorkflow>(WORKFLOW_TYPES.scoreViewerItems, workflowId, 'ranking', [input]);
}

/** The workflow id of a pull transition: one per author and state of their pull record. */
export function pullTransitionId(input: PullTransitionInput): string {
  return `pull-transition/author/${input.authorId}/${input.stamp}`;
}

/** The pull transition a fan-out found due, on the fan-out's own queue; it must happen eventually. */
export function pullTransition(input: PullTransitionInput, queue: DetachedStart['queue']): DetachedStart {
  return detached<PullTransitionWorkflow>(WORKFLOW_TYPES.pullTransition, pullTransitionId(input), queue, [input], {
    retryFailed: true,
    searchAttributes: {
      [SEARCH_ATTRIBUTES.feedOperation.name]: 'pull-transition',
      [SEARCH_ATTRIBUTES.authorId.name]: input.authorId,
    },
  });
}

/** Marks a post dirty for re-scoring: signals `rescore/post/{postId}`, starting it already marked if it is not running. */
export function rescoreMark(postId: string): DetachedStart {
  return detached<typeof rescorePostWorkflow>(
    WORKFLOW_TYPES.rescorePost,
    `rescore/post/${postId}`,
    'ranking',
    [{ postId, dirty: true }],
    { signal: postDirtySignal.name },
  );
}
