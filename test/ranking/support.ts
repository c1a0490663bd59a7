import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FeatureInputs } from '../../ranking/schema';

/** The parity fixture written by ranking/train.py: 100 holdout rows with their Python-side scores. */
export interface ParityFixture {
  modelPath: string;
  modelVersion: string;
  schemaHash: string;
  tolerance: number;
  rows: Array<{ inputs: FeatureInputs; features: number[]; score: number; onnxScore: number }>;
}

export const ROOT = resolve(__dirname, '../..');
export const WRONG_SCHEMA_MODEL = resolve(ROOT, 'test/fixtures/ranking-wrong-schema.onnx');

export function parityFixture(): ParityFixture {
  return JSON.parse(readFileSync(resolve(ROOT, 'test/fixtures/ranking-parity.json'), 'utf8')) as ParityFixture;
}

/** A typical in-network pair. */
export const GOOD_ROW: FeatureInputs = {
  connectionStrength: 1,
  degree: 'first',
  postType: 'image',
  hasMedia: true,
  contentLength: 140,
  postAgeHours: 3,
  authorEngagementRate: 4,
  likes: 5,
  comments: 1,
  shares: 0,
  pastInteractions: 2,
  authorFollowers: 120,
};
