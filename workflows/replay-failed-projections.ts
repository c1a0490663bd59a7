import {
  defineSearchAttributeKey,
  SearchAttributeType,
  WorkflowExecutionAlreadyStartedError,
} from '@temporalio/common';
import {
  ApplicationFailure,
  makeContinueAsNewFunc,
  ParentClosePolicy,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  startChild,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import type { createOperationsActivities } from '../activities/operations';
import {
  batchProgressQuery,
  type ProjectionRestart,
  type ReplayBatchProgress,
  type ReplayFailedInput,
} from '../pipeline/contracts/operations';
import { isWorkflowType, itemsWrittenOf } from '../pipeline/registry';
import { ensureSearchAttributes } from './helpers';

const { failedProjectionRestarts } = proxyActivities<ReturnType<typeof createOperationsActivities>>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

/** Failed runs read per visibility page. */
const PAGE_SIZE = 100;
/** Replays started per run before continuing as new, so the batch's history stays bounded at any size. */
const STARTS_PER_RUN = 500;

/**
 * An operator's bulk replay (`replay-failed/{filter hash}/{requestId}`): pages through the failed projections the
 * filter matches and starts each one again under its own id, as the command side first did, a sliding window of
 * at most `maxConcurrent` at a time and at most `ratePerSecond` starts a second. The id's reuse policy only admits
 * a start over a failed run, so a projection that completed (or is running) since is skipped: a second batch over
 * the same failures changes nothing. Replays outlive the batch (a stopped batch never kills a projection).
 */
export async function replayFailedProjectionsWorkflow(input: ReplayFailedInput): Promise<ReplayBatchProgress> {
  const { filter, ratePerSecond, maxConcurrent } = input ?? {};
  if (!filter?.closedBefore) throw ApplicationFailure.nonRetryable('filter.closedBefore is required', 'InvalidInput');
  if (!(ratePerSecond >= 1 && maxConcurrent >= 1)) {
    throw ApplicationFailure.nonRetryable('ratePerSecond and maxConcurrent must be at least 1', 'InvalidInput');
  }
  ensureSearchAttributes('replay-failed', { postId: filter.postId, viewerId: filter.viewerId });
  const progress: ReplayBatchProgress = input.progress ?? {
    matched: 0,
    replayed: 0,
    skipped: 0,
    failed: 0,
    itemsWritten: 0,
    done: false,
  };
  setHandler(batchProgressQuery, () => progress);
  const inflight = new Set<Promise<void>>();
  const show = () =>
    setCurrentDetails(
      `**Replay of failed projections** (${filter.kind ?? 'every kind'}, closed before ${filter.closedBefore})\n\n` +
        `${progress.matched} matched: ${progress.replayed} replayed, ${progress.skipped} skipped, ` +
        `${progress.failed} failed, ${inflight.size} running; ${progress.itemsWritten} items written` +
        (progress.done ? '; done' : ''),
    );
  show();

  let window = { start: Date.now(), starts: 0 };
  const replay = async (r: ProjectionRestart): Promise<void> => {
    // The type arrives as data from an activity (maybe of another deployment's code): one not run here is failed.
    if (!isWorkflowType(r.workflowType)) {
      progress.failed++;
      show();
      return;
    }
    if (window.starts >= ratePerSecond) {
      const rest = window.start + 1000 - Date.now();
      if (rest > 0) await sleep(rest);
      window = { start: Date.now(), starts: 0 };
    }
    while (inflight.size >= maxConcurrent) await Promise.race(inflight);
    window.starts++;
    try {
      const child = await startChild(r.workflowType, {
        workflowId: r.workflowId,
        taskQueue: r.taskQueue,
        args: r.args,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: Object.entries(r.searchAttributes).map(([name, value]) => ({
          key: defineSearchAttributeKey(name, SearchAttributeType.KEYWORD),
          value,
        })),
        ...(r.executionTimeoutMs ? { workflowExecutionTimeout: r.executionTimeoutMs } : {}),
      });
      const done: Promise<void> = child
        .result()
        .then(
          (result) => {
            progress.replayed++;
            progress.itemsWritten += itemsWrittenOf(r.workflowType, result);
          },
          () => {
            progress.failed++;
          },
        )
        .finally(() => {
          inflight.delete(done);
          show();
        });
      inflight.add(done);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      progress.skipped++;
    }
    show();
  };

  let token = input.pageToken;
  for (let starts = 0; ;) {
    const page = await failedProjectionRestarts({ filter, pageToken: token, pageSize: PAGE_SIZE });
    progress.matched += page.restarts.length + page.unreplayable;
    progress.failed += page.unreplayable;
    for (const r of page.restarts) await replay(r);
    starts += page.restarts.length;
    if (!page.next) break;
    token = page.next;
    if (starts >= STARTS_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await Promise.all(inflight);
      const info = workflowInfo();
      await makeContinueAsNewFunc<typeof replayFailedProjectionsWorkflow>({
        memo: info.memo,
        typedSearchAttributes: info.typedSearchAttributes,
      })({ ...input, pageToken: token, progress });
    }
  }
  await Promise.all(inflight);
  progress.done = true;
  show();
  return progress;
}
