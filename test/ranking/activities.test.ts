import assert from 'node:assert/strict';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { RetryState } from '@temporalio/common';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { createRankingActivities, type ScoreFeaturesResult } from '../../activities/ranking';
import type { FeatureInputs } from '../../ranking/schema';
import { closeEngagementModels } from '../../stores/model';
import { openStores, temporalEnv, type TestStores, uniqueId } from '../support/env';
import { GOOD_ROW, parityFixture, WRONG_SCHEMA_MODEL } from './support';
import { scoreFeaturesWorkflow } from './workflows';

try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // Another suite in this process installed the runtime first.
}

const NAN_ROW = { ...GOOD_ROW, postAgeHours: NaN } as FeatureInputs;

function isInvalidRow(err: unknown): boolean {
  assert.ok(err instanceof ApplicationFailure, String(err));
  assert.equal(err.type, 'InvalidFeatureRow');
  assert.equal(err.nonRetryable, true);
  // NaN arrives as null once it crosses a JSON payload.
  assert.match(err.message, /row 1: postAgeHours is (NaN|null), not a finite number/);
  return true;
}

describe('ranking: the scoring activities', function () {
  let stores: TestStores;
  before(async () => (stores = await openStores()));
  after(async () => {
    await stores.close();
    await closeEngagementModels();
  });

  it('fails a batch with a NaN row non-retryably as InvalidFeatureRow, then serves the next batch', async () => {
    const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
    const heartbeats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => heartbeats.push(d));
    const { scoreFeatures } = createRankingActivities({ db: stores.db });
    await assert.rejects(env.run(scoreFeatures, { rows: [GOOD_ROW, NAN_ROW, GOOD_ROW] }), isInvalidRow);
    const fixture = parityFixture();
    const next = (await env.run(scoreFeatures, { rows: fixture.rows.map((r) => r.inputs) })) as ScoreFeaturesResult;
    assert.equal(next.modelVersion, 'engagement-v1');
    next.scores.forEach((s, i) => assert.ok(Math.abs(s - fixture.rows[i].score) <= 1e-5));
    assert.deepEqual(heartbeats, [{ done: 100 }]);
  });

  it('reports a model trained against another schema as a typed, retryable failure', async () => {
    const { modelVersion } = createRankingActivities({ db: stores.db, modelPath: WRONG_SCHEMA_MODEL });
    await assert.rejects(modelVersion(), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, 'ModelSchemaMismatch');
      assert.equal(err.nonRetryable, false);
      return true;
    });
  });

  describe('on a real worker', () => {
    let env: TestWorkflowEnvironment;
    before(async () => (env = await temporalEnv(stores.config)));
    after(async () => env?.teardown());

    it('shows the typed failure without retrying, and the same worker keeps scoring', async () => {
      const taskQueue = uniqueId('ranking-');
      const worker = await Worker.create({
        connection: env.nativeConnection,
        namespace: stores.config.TEMPORAL_NAMESPACE,
        taskQueue,
        workflowBundle: await bundleWorkflowCode({
          workflowsPath: require.resolve('./workflows'),
          logger: new DefaultLogger('WARN'),
        }),
        activities: createRankingActivities({ db: stores.db }),
      });
      await worker.runUntil(async () => {
        const bad = env.client.workflow.execute(scoreFeaturesWorkflow, {
          taskQueue,
          workflowId: uniqueId('ranking-bad-'),
          args: [{ rows: [GOOD_ROW, NAN_ROW] }],
        });
        await assert.rejects(bad, (err: unknown) => {
          assert.ok(err instanceof WorkflowFailedError);
          assert.ok(err.cause instanceof ActivityFailure);
          assert.equal(err.cause.retryState, RetryState.NON_RETRYABLE_FAILURE);
          return isInvalidRow(err.cause.cause);
        });
        const good = await env.client.workflow.execute(scoreFeaturesWorkflow, {
          taskQueue,
          workflowId: uniqueId('ranking-good-'),
          args: [{ rows: [GOOD_ROW, GOOD_ROW] }],
        });
        assert.equal(good.scores.length, 2);
        assert.ok(good.scores.every((s) => s > 0 && s < 1));
      });
    });
  });
});
