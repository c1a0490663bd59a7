import {
  ApplicationFailure,
  executeChild,
  patched,
  proxyActivities,
  proxyLocalActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { createConsistencyActivities } from '../activities/consistency';
import type { createPostActivities } from '../activities/posts';
import type { createRepairActivities } from '../activities/repairs';
import type { RepairResult, ReplayFanoutInput, ReplayFanoutResult } from '../pipeline/contracts/operations';
import { WORKFLOW_TYPES } from '../pipeline/registry';
import { replayChildId } from '../pipeline/routing';
import type { fanoutPostWorkflow } from './fanout-post';
import { ensureSearchAttributes, scoreOnRankingQueue } from './helpers';
// A type only, like every workflow this one starts: the name comes from the registry.

const { replayInput } = proxyLocalActivities<ReturnType<typeof createPostActivities>>({
  startToCloseTimeout: '10 seconds',
});

const { checkPosts, repairPostItems } = proxyActivities<
  ReturnType<typeof createConsistencyActivities> & ReturnType<typeof createRepairActivities>
>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '10 seconds' },
});

/**
 * An operator's replay of a post (`replay/post/{postId}/v{version}`): the post's latest version fanned out again to
 * its current audience by the real fan-out (a child run), then every item the audience no longer allows purged and
 * any other version brought up to date. A deleted post is purged everywhere. Idempotent end to end.
 */
/** Patch: the fan-out child's id names the replay run; runs started before it keep one child id per replay id. */
export const CHILD_PER_RUN = 'replay-child-per-run';

export async function replayFanoutWorkflow(input: ReplayFanoutInput): Promise<ReplayFanoutResult> {
  if (!input?.postId) throw ApplicationFailure.nonRetryable('postId is required', 'InvalidInput');
  const projection = await replayInput(input.postId);
  if (!projection) throw ApplicationFailure.nonRetryable(`post ${input.postId} does not exist`, 'NotFound');
  ensureSearchAttributes('replay', { postId: input.postId, authorId: projection.actorId });
  let itemsWritten = 0;
  if (!projection.deleted) {
    const fanout = await executeChild<typeof fanoutPostWorkflow>(WORKFLOW_TYPES.fanoutPost, {
      workflowId: patched(CHILD_PER_RUN)
        ? replayChildId(workflowInfo().workflowId, workflowInfo().runId)
        : `replay/post/${input.postId}/v${projection.version}/fanout`,
      args: [projection.input],
    });
    itemsWritten = fanout.itemsWritten;
  }
  // Whatever the current audience no longer allows (or every item, for a deleted post) goes, and every item left
  // without a model score (those the replay wrote) is scored.
  const check = await checkPosts({ postIds: [input.postId], scoreWindowMs: 0 });
  const unscored = check.findings.filter((f) => f.kind === 'unscored');
  const rest = check.findings.filter((f) => f.kind !== 'unscored');
  const res: RepairResult = rest.length
    ? await repairPostItems({ postId: input.postId, findings: rest })
    : { repaired: {}, written: [] };
  await scoreOnRankingQueue([...unscored, ...res.written].map(({ viewerId, postId }) => ({ viewerId, postId })));
  const purged = (res.repaired.blocked ?? 0) + (res.repaired.not_visible ?? 0) + (res.repaired.deleted ?? 0);
  return { postId: input.postId, version: projection.version, itemsWritten, purged, deleted: projection.deleted };
}
