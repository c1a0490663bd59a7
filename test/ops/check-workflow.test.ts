import { strict as assert } from 'node:assert';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { createConsistencyActivities } from '../../activities/consistency';
import type { createOperationsActivities } from '../../activities/operations';
import type { createRepairActivities } from '../../activities/repairs';
import type { createScoringActivities } from '../../activities/scoring';
import type { ConsistencyReport, Finding } from '../../domain/findings';
import { temporalEnv, testConfig, uniqueId } from '../support/env';
import { runWorkers } from '../support/workers';

type Consistency = ReturnType<typeof createConsistencyActivities> & ReturnType<typeof createRepairActivities>;
type Operations = ReturnType<typeof createOperationsActivities>;
type Scoring = ReturnType<typeof createScoringActivities>;

describe('consistencyCheckWorkflow (mocked activities)', function () {
  this.timeout(60_000);
  let env: TestWorkflowEnvironment;
  const config = testConfig();
  before(async () => {
    env = await temporalEnv(config);
  });
  after(async () => env?.teardown());

  it('repairs what it can, records every count, and fails visibly when a repair still fails after its retries', async () => {
    const prefix = uniqueId('chk-') + '-';
    const findings: Finding[] = [
      { kind: 'missing', postId: 'pa', viewerId: 'v1' },
      { kind: 'missing', postId: 'pa', viewerId: 'v2' },
      { kind: 'stale', postId: 'pb', viewerId: 'v1' },
      { kind: 'unscored', postId: 'pc', viewerId: 'v3' },
    ];
    let attemptsOnB = 0;
    const saved: ConsistencyReport[] = [];
    const scored: Array<{ viewerId: string; postId: string }> = [];
    const checks: Pick<Consistency, 'checkRecentEvents' | 'repairPostItems'> = {
      async checkRecentEvents() {
        return { eventsChecked: 3, membersChecked: 0, findings, truncated: 0 };
      },
      async repairPostItems({ postId, findings: group }) {
        if (postId === 'pb') {
          attemptsOnB++;
          throw new Error('store unavailable');
        }
        return { repaired: { missing: group.length }, written: group.map(({ viewerId }) => ({ viewerId, postId })) };
      },
    };
    const ops: Pick<Operations, 'saveReport'> = {
      async saveReport({ report }) {
        saved.push(report);
      },
    };
    const scoring: Pick<Scoring, 'scoreItemPairs'> = {
      async scoreItemPairs({ pairs }) {
        scored.push(...pairs);
        return { items: pairs.length, written: pairs.length, modelVersion: 'test' };
      },
    };
    const projection = await runWorkers(env.nativeConnection, config.TEMPORAL_NAMESPACE, [prefix + 'projection'], {
      ...checks,
      ...ops,
    });
    const ranking = await runWorkers(env.nativeConnection, config.TEMPORAL_NAMESPACE, [prefix + 'ranking'], scoring);
    try {
      const run = env.client.workflow.execute('consistencyCheckWorkflow', {
        taskQueue: prefix + 'projection',
        workflowId: `${prefix}consistency/recent`,
        args: [{ scope: 'recent' }],
      });
      const err = await run.then(
        () => assert.fail('the check should fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof WorkflowFailedError);
      assert.ok(err.cause instanceof ApplicationFailure);
      assert.equal(err.cause.type, 'RepairFailed');
      assert.equal(attemptsOnB, 4, 'the failing repair was retried before it counted as failed');

      assert.equal(saved.length, 1, 'the report was saved before the run failed');
      const counts = Object.fromEntries(saved[0].counts.map((c) => [c.kind, [c.found, c.repaired, c.failed]]));
      assert.deepEqual(counts.missing, [2, 2, 0]);
      assert.deepEqual(counts.stale, [1, 0, 1]);
      assert.deepEqual(counts.unscored, [1, 1, 0]);
      assert.deepEqual([saved[0].found, saved[0].repaired, saved[0].failed], [4, 3, 1]);
      // The unscored item and both items the repair wrote were scored on the ranking queue.
      assert.deepEqual(scored.map((p) => `${p.viewerId}:${p.postId}`).sort(), ['v1:pa', 'v2:pa', 'v3:pc']);
    } finally {
      await ranking.stop();
      await projection.stop();
    }
  });
});
