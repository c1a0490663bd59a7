import assert from 'node:assert/strict';
import { buildFeatureMatrix } from '../../ranking/schema';
import { closeEngagementModels, loadEngagementModel } from '../../stores/model';
import { parityFixture } from './support';

describe('ranking: parity with the Python side', () => {
  const fixture = parityFixture();
  after(() => closeEngagementModels());

  it('reproduces the 100 fixture scores through onnxruntime-node within 1e-5', async () => {
    const model = await loadEngagementModel();
    assert.equal(model.info.modelVersion, fixture.modelVersion);
    assert.equal(fixture.rows.length, 100);
    const features = new Float32Array(fixture.rows.flatMap((r) => r.features));
    const scores = await model.score(features, fixture.rows.length);
    let worst = 0;
    for (const [i, row] of fixture.rows.entries()) {
      worst = Math.max(worst, Math.abs(scores[i] - row.score));
      assert.ok(Math.abs(scores[i] - row.score) <= fixture.tolerance, `row ${i}: ${scores[i]} vs ${row.score}`);
    }
    assert.ok(worst <= 1e-5);
  });

  it('reproduces them from the raw inputs through the TypeScript feature builder', async () => {
    const model = await loadEngagementModel();
    const scores = await model.score(buildFeatureMatrix(fixture.rows.map((r) => r.inputs)), fixture.rows.length);
    for (const [i, row] of fixture.rows.entries()) {
      assert.ok(Math.abs(scores[i] - row.score) <= fixture.tolerance, `row ${i}: ${scores[i]} vs ${row.score}`);
    }
  });
});
