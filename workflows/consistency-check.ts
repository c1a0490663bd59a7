import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  proxyLocalActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { createConsistencyActivities } from '../activities/consistency';
import type { createOperationsActivities } from '../activities/operations';
import type { createRepairActivities } from '../activities/repairs';
import { type ConsistencyReport, type Finding, FINDING_KINDS, type FindingKind } from '../domain/findings';
import type { CheckResult, ConsistencyCheckInput } from '../pipeline/contracts/operations';
import { ensureSearchAttributes, scoreOnRankingQueue } from './helpers';

const { checkRecentEvents, checkMemberFeeds } = proxyActivities<ReturnType<typeof createConsistencyActivities>>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
});

// A repair that still fails after its retries is counted as failed, and fails the check at the end.
const { repairPostItems } = proxyActivities<ReturnType<typeof createRepairActivities>>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '10 seconds', maximumAttempts: 4 },
});

const { saveReport } = proxyLocalActivities<ReturnType<typeof createOperationsActivities>>({
  startToCloseTimeout: '30 seconds',
});

/** Findings kept in a report for a human to follow up. */
const SAMPLES = 50;

/**
 * One consistency check: finds drift between the read models and the write model plus graph (the recent events, or
 * a sample of whole feeds), repairs each finding idempotently, records a report and fails, visibly in the UI and in
 * a metric, if any repair failed after its retries. Started by a schedule or by OperationsService.
 */
export async function consistencyCheckWorkflow(input: ConsistencyCheckInput): Promise<ConsistencyReport> {
  if (input?.scope !== 'recent' && input?.scope !== 'deep') {
    throw ApplicationFailure.nonRetryable(`scope must be recent or deep, not ${String(input?.scope)}`, 'InvalidInput');
  }
  ensureSearchAttributes('consistency', {});
  const info = workflowInfo();
  const startedAt = new Date();
  const scoreWindowMs = input.scoreWindowMs ?? 60_000;
  const check: CheckResult =
    input.scope === 'recent'
      ? await checkRecentEvents({
          windowMs: input.windowMs ?? 300_000,
          settleMs: input.settleMs ?? 10_000,
          scoreWindowMs,
          until: new Date(startedAt.getTime() - (input.settleMs ?? 10_000)).toISOString(),
        })
      : await checkMemberFeeds({ viewerIds: input.viewerIds, sample: input.sample ?? 50, scoreWindowMs });

  const counts = new Map(FINDING_KINDS.map((kind) => [kind, { kind, found: 0, repaired: 0, failed: 0 }]));
  for (const f of check.findings) counts.get(f.kind)!.found++;
  if (input.repair !== false) await repair(check.findings, counts);

  const rows = [...counts.values()];
  const sum = (k: 'found' | 'repaired' | 'failed') => rows.reduce((n, r) => n + r[k], 0);
  const report: ConsistencyReport = {
    workflowId: info.workflowId,
    scope: input.scope,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    eventsChecked: check.eventsChecked,
    membersChecked: check.membersChecked,
    counts: rows,
    samples: check.findings.slice(0, SAMPLES),
    found: sum('found'),
    repaired: sum('repaired'),
    failed: sum('failed'),
  };
  await saveReport({ id: `${info.workflowId}/${info.runId}`, report });
  if (report.failed) {
    throw ApplicationFailure.nonRetryable(
      `${report.failed} of ${report.found} findings could not be repaired`,
      'RepairFailed',
      report,
    );
  }
  return report;
}

/** Repairs post by post; unscored items are scored on the ranking queue, in batches. */
async function repair(
  findings: Finding[],
  counts: Map<FindingKind, { found: number; repaired: number; failed: number }>,
): Promise<void> {
  const byPost = new Map<string, Finding[]>();
  const unscored: Finding[] = [];
  for (const f of findings) {
    if (f.kind === 'unscored') unscored.push(f);
    else byPost.set(f.postId, [...(byPost.get(f.postId) ?? []), f]);
  }
  const written: Array<{ viewerId: string; postId: string }> = [];
  for (const [postId, group] of byPost) {
    try {
      const res = await repairPostItems({ postId, findings: group });
      const repaired = res.repaired;
      written.push(...res.written);
      for (const [kind, n] of Object.entries(repaired)) counts.get(kind as FindingKind)!.repaired += n;
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      for (const f of group) counts.get(f.kind)!.failed++;
    }
  }
  const { scored, failed } = await scoreOnRankingQueue(unscored.map(({ viewerId, postId }) => ({ viewerId, postId })));
  counts.get('unscored')!.repaired += scored;
  counts.get('unscored')!.failed += failed;
  // Items the repairs wrote are new to the ranking model too; a failure here shows up as unscored next time.
  await scoreOnRankingQueue(written);
}
