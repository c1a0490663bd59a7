import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  buildFeatureMatrix,
  buildFeatures,
  DEGREES,
  FEATURE_INPUT_NAMES,
  type FeatureInputs,
  InvalidFeatureRowError,
  loadFeatureSchema,
  parseFeatureSchema,
} from '../../ranking/schema';
import { DEFAULT_MODEL_PATH, readModelMetadata } from '../../stores/model';
import { POST_TYPES } from '../../stores/write-model';
import { GOOD_ROW, parityFixture } from './support';

describe('ranking: the feature schema and the feature builder', () => {
  const schema = loadFeatureSchema();

  it('declares exactly the inputs the builder takes, with the categories the code uses', () => {
    assert.deepEqual(Object.keys(schema.inputs).sort(), [...FEATURE_INPUT_NAMES].sort());
    const values = (name: string) => {
      const spec = schema.inputs[name];
      return spec.type === 'category' ? spec.values : [];
    };
    assert.deepEqual(values('degree'), [...DEGREES]);
    assert.deepEqual(values('postType'), [...POST_TYPES]);
    for (const f of schema.features) assert.ok(FEATURE_INPUT_NAMES.includes(f.input as never), f.name);
  });

  it('hashes the schema as the training side did, and the model carries that hash', () => {
    const meta = readModelMetadata(readFileSync(DEFAULT_MODEL_PATH));
    assert.equal(schema.hash, parityFixture().schemaHash);
    assert.equal(meta.feature_schema_hash, schema.hash);
    assert.equal(meta.feature_names, schema.features.map((f) => f.name).join(','));
  });

  it('builds the same feature rows from raw inputs as the Python side', () => {
    for (const [i, row] of parityFixture().rows.entries()) {
      const built = buildFeatures(row.inputs, schema);
      assert.equal(built.length, row.features.length);
      for (let j = 0; j < built.length; j++) {
        assert.ok(Math.abs(built[j] - row.features[j]) <= 1e-6, `row ${i} ${schema.features[j].name}`);
      }
    }
  });

  it('clips out-of-range numbers instead of failing', () => {
    const row = buildFeatures({ ...GOOD_ROW, postAgeHours: -0.5, connectionStrength: 3 }, schema);
    const at = (name: string) => row[schema.features.findIndex((f) => f.name === name)];
    assert.equal(at('post_age_hours_log'), 0);
    assert.equal(at('connection_strength'), 1);
  });

  const bad: Array<[string, Partial<Record<keyof FeatureInputs, unknown>>, string]> = [
    ['NaN', { likes: NaN }, 'likes'],
    ['Infinity', { postAgeHours: Infinity }, 'postAgeHours'],
    ['a missing number', { authorFollowers: undefined }, 'authorFollowers'],
    ['an unknown post type', { postType: 'poll' }, 'postType'],
    ['a string for a boolean', { hasMedia: 'yes' }, 'hasMedia'],
  ];
  for (const [what, change, field] of bad) {
    it(`rejects a row with ${what}, naming the row and the input`, () => {
      const rows = [GOOD_ROW, { ...GOOD_ROW, ...change } as FeatureInputs];
      assert.throws(
        () => buildFeatureMatrix(rows, schema),
        (err: unknown) => err instanceof InvalidFeatureRowError && err.row === 1 && err.field === field,
      );
    });
  }

  it('refuses a schema whose one-hot feature names a value its input cannot take', () => {
    const doc = JSON.parse(JSON.stringify(schema)) as { features: Array<{ value?: string }> };
    doc.features[1].value = 'third';
    assert.throws(() => parseFeatureSchema(doc, 'edited schema'), /degree_first is one-hot on degree = third/);
  });
});
