/**
 * The one place that names workflows by string. Everything else starts, schedules or recognises a workflow through
 * these names or through a function reference. It imports nothing, so any room may name a workflow without
 * importing workflow code; test/unit/registry.test.ts checks that every name is an exported workflow and every
 * exported workflow is named here.
 */

export const WORKFLOW_TYPES = {
  ping: 'pingWorkflow',
  fanoutPost: 'fanoutPostWorkflow',
  updatePost: 'updatePostWorkflow',
  deletePost: 'deletePostWorkflow',
  backfill: 'backfillWorkflow',
  pullTransition: 'pullTransitionWorkflow',
  purge: 'purgeWorkflow',
  profile: 'profileWorkflow',
  engagement: 'engagementWorkflow',
  trimFeeds: 'trimFeedsWorkflow',
  scoreFeedItems: 'scoreFeedItemsWorkflow',
  scoreViewerItems: 'scoreViewerItemsWorkflow',
  rescorePost: 'rescorePostWorkflow',
  modelRollout: 'modelRolloutWorkflow',
  consistencyCheck: 'consistencyCheckWorkflow',
  rebuildFeed: 'rebuildFeedWorkflow',
  replayFanout: 'replayFanoutWorkflow',
  outboxSweep: 'outboxSweepWorkflow',
  replayFailedProjections: 'replayFailedProjectionsWorkflow',
  searchIndex: 'searchIndexWorkflow',
  reindexSearch: 'reindexSearchWorkflow',
  searchCheck: 'searchCheckWorkflow',
} as const satisfies Record<string, `${string}Workflow`>;

/** Every workflow type the workers register, by its exported function's name. */
export type WorkflowType = (typeof WORKFLOW_TYPES)[keyof typeof WORKFLOW_TYPES];

const KNOWN: ReadonlySet<string> = new Set(Object.values(WORKFLOW_TYPES));

/** Whether a name read from outside the code (visibility, an activity's answer) is a workflow the workers run. */
export function isWorkflowType(name: unknown): name is WorkflowType {
  return typeof name === 'string' && KNOWN.has(name);
}

/** The workflow types on the ranking queue, for the replay fixtures. */
export const RANKING_WORKFLOW_TYPES = [
  WORKFLOW_TYPES.scoreFeedItems,
  WORKFLOW_TYPES.rescorePost,
  WORKFLOW_TYPES.modelRollout,
] as const;

/** Feed items a finished workflow's result says it wrote; 0 for kinds that write none. */
export function itemsWrittenOf(workflowType: string, result: unknown): number {
  const r = (result ?? {}) as Record<string, unknown>;
  const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  switch (workflowType) {
    case WORKFLOW_TYPES.fanoutPost:
    case WORKFLOW_TYPES.replayFanout:
    case WORKFLOW_TYPES.replayFailedProjections:
    case WORKFLOW_TYPES.reindexSearch:
      return n(r.itemsWritten);
    case WORKFLOW_TYPES.searchIndex:
    case WORKFLOW_TYPES.rebuildFeed:
      return n(r.written);
    case WORKFLOW_TYPES.updatePost:
      return n(r.itemsUpdated);
    case WORKFLOW_TYPES.profile:
      return n(r.itemsRefreshed);
    case WORKFLOW_TYPES.consistencyCheck:
      return n(r.repaired);
    case WORKFLOW_TYPES.backfill:
      return Object.values((r.backfilled ?? {}) as Record<string, unknown>).reduce<number>((a, v) => a + n(v), 0);
    default:
      return 0;
  }
}
