import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildFeatureMatrix,
  InvalidFeatureRowError,
  loadFeatureSchema,
  parseFeatureSchema,
} from '../../ranking/schema';
import {
  closeEngagementModels,
  DEFAULT_MODEL_PATH,
  loadEngagementModel,
  ModelSchemaMismatchError,
} from '../../stores/model';
import { GOOD_ROW, parityFixture, WRONG_SCHEMA_MODEL } from './support';

describe('ranking: the ONNX model store', () => {
  const schema = loadFeatureSchema();
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'feedflow-model-'))));
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await closeEngagementModels();
  });

  it('loads the committed model with its version and the serving schema', async () => {
    const model = await loadEngagementModel();
    assert.equal(model.info.modelVersion, 'engagement-v1');
    assert.equal(model.info.schemaHash, schema.hash);
    assert.equal(model.info.features, schema.features.length);
    assert.deepEqual([model.info.inputName, model.info.outputName], ['features', 'p_engage']);
  });

  it('creates one session per model file and shares it', async () => {
    const [a, b] = await Promise.all([loadEngagementModel(), loadEngagementModel(DEFAULT_MODEL_PATH)]);
    assert.equal(a, b);
    assert.equal(a.session, b.session);
  });

  it('refuses a model trained against another feature schema, naming both', async () => {
    await assert.rejects(loadEngagementModel(WRONG_SCHEMA_MODEL), (err: unknown) => {
      assert.ok(err instanceof ModelSchemaMismatchError);
      assert.match(err.message, /trained against feature schema engagement v0 \(0{64}\)/);
      assert.match(err.message, new RegExp(`serving uses engagement v1 \\(${schema.hash}\\)`));
      assert.match(err.message, /ranking\/train\.sh/);
      return true;
    });
  });

  it('refuses the committed model when the serving schema has changed', async () => {
    const reordered = parseFeatureSchema({ ...schema, features: [...schema.features].reverse() });
    await assert.rejects(loadEngagementModel(DEFAULT_MODEL_PATH, { schema: reordered }), ModelSchemaMismatchError);
  });

  it('does not cache a failed load: a model that appears later is picked up', async () => {
    const path = join(dir, 'late.onnx');
    writeFileSync(path, 'not a model');
    await assert.rejects(loadEngagementModel(path));
    copyFileSync(DEFAULT_MODEL_PATH, path);
    assert.equal((await loadEngagementModel(path)).info.modelVersion, 'engagement-v1');
  });

  it('scores in batches exactly as row by row, across batch boundaries', async () => {
    const model = await loadEngagementModel();
    const rows = parityFixture().rows.map((r) => r.inputs);
    const many = Array.from({ length: 1100 }, (_, i) => rows[i % rows.length]);
    const features = buildFeatureMatrix(many, schema);
    const batched = await model.score(features, many.length, { batchSize: 512 });
    const single = await model.score(features.slice(0, rows.length * schema.features.length), rows.length, {
      batchSize: 1,
    });
    assert.equal(batched.length, 1100);
    for (let i = 0; i < many.length; i++) assert.equal(batched[i], single[i % rows.length], `row ${i}`);
  });

  it('rejects a non-finite feature before running, and keeps serving', async () => {
    const model = await loadEngagementModel();
    const features = buildFeatureMatrix([GOOD_ROW, GOOD_ROW], schema);
    features[schema.features.length + 3] = NaN;
    await assert.rejects(
      model.score(features, 2),
      (err: unknown) => err instanceof InvalidFeatureRowError && err.row === 1 && err.field === schema.features[3].name,
    );
    await assert.rejects(model.score(features.subarray(1), 2), InvalidFeatureRowError);
    const ok = await model.score(buildFeatureMatrix([GOOD_ROW], schema), 1);
    assert.ok(ok[0] > 0 && ok[0] < 1);
  });
});
