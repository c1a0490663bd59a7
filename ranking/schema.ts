import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

/**
 * The engagement model's feature schema, serving side. ranking/feature-schema.json lists the features in model
 * input order with their transforms; ranking/feature_schema.py is the training twin. Both hash the same canonical
 * JSON, and the ONNX model carries that hash, so a model and a schema that disagree are caught at load.
 */

export const DEFAULT_SCHEMA_PATH = resolve(__dirname, 'feature-schema.json');

export const DEGREES = ['first', 'second', 'follow', 'none'] as const;
export type Degree = (typeof DEGREES)[number];

/**
 * The seed's connection strengths, per relationship of the viewer to the author: a connection, the viewer
 * following the author, the author following the viewer, a second-degree connection, and nothing at all.
 */
export const CONNECTION_STRENGTH = {
  connected: 1.0,
  viewerFollows: 0.7,
  authorFollows: 0.5,
  second: 0.3,
  none: 0,
} as const;

/** Plain inputs of one (viewer, post) pair, before the schema's transforms. */
export interface FeatureInputs {
  connectionStrength: number;
  degree: Degree;
  postType: 'text' | 'image' | 'video' | 'article';
  hasMedia: boolean;
  contentLength: number;
  postAgeHours: number;
  /** Likes, comments and shares per post over the author's other recent posts. */
  authorEngagementRate: number;
  likes: number;
  comments: number;
  shares: number;
  /** The viewer's likes, comments and shares on the author's other recent posts. */
  pastInteractions: number;
  authorFollowers: number;
}

/** Every input the builder knows; the schema test checks the schema declares exactly these. */
export const FEATURE_INPUT_NAMES = [
  'connectionStrength',
  'degree',
  'postType',
  'hasMedia',
  'contentLength',
  'postAgeHours',
  'authorEngagementRate',
  'likes',
  'comments',
  'shares',
  'pastInteractions',
  'authorFollowers',
] as const satisfies ReadonlyArray<keyof FeatureInputs>;

const inputSpec = z.discriminatedUnion('type', [
  z.object({ type: z.literal('number'), doc: z.string().optional() }),
  z.object({ type: z.literal('boolean'), doc: z.string().optional() }),
  z.object({ type: z.literal('category'), values: z.array(z.string()).min(1), doc: z.string().optional() }),
]);
const featureSpec = z.object({
  name: z.string().min(1),
  input: z.string().min(1),
  transform: z.enum(['identity', 'log1p', 'onehot', 'boolean']),
  value: z.string().optional(),
  clip: z.tuple([z.number(), z.number()]).optional(),
});
const schemaSpec = z.object({
  name: z.string().min(1),
  version: z.number().int().positive(),
  description: z.string().optional(),
  inputs: z.record(z.string(), inputSpec),
  features: z.array(featureSpec).min(1),
});

export type FeatureSpec = z.output<typeof featureSpec>;
export interface FeatureSchema extends z.output<typeof schemaSpec> {
  /** sha256 of the canonical JSON of name, version and features; the model's metadata must carry the same. */
  hash: string;
}

/** A row that cannot be scored: a non-finite number, a wrong type or an unknown category. Permanent. */
export class InvalidFeatureRowError extends Error {
  override readonly name = 'InvalidFeatureRowError';
  constructor(
    message: string,
    readonly row: number,
    readonly field: string,
  ) {
    super(message);
  }
}

const canonical = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(canonical)
    : v !== null && typeof v === 'object'
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
        )
      : v;

export function featureSchemaHash(schema: Pick<FeatureSchema, 'name' | 'version' | 'features'>): string {
  const core = { name: schema.name, version: schema.version, features: schema.features };
  return createHash('sha256')
    .update(JSON.stringify(canonical(core)))
    .digest('hex');
}

/** Validates a parsed schema document: every feature reads a declared input, and one-hot values exist. */
export function parseFeatureSchema(doc: unknown, source = 'feature schema'): FeatureSchema {
  const parsed = schemaSpec.safeParse(doc);
  if (!parsed.success) throw new Error(`${source} is malformed: ${z.prettifyError(parsed.error)}`);
  const s = parsed.data;
  for (const f of s.features) {
    const input = s.inputs[f.input];
    if (!input) throw new Error(`${source}: feature ${f.name} reads undeclared input ${f.input}`);
    if (f.transform === 'onehot' && (input.type !== 'category' || !input.values.includes(f.value ?? ''))) {
      throw new Error(`${source}: feature ${f.name} is one-hot on ${f.input} = ${f.value}, which it cannot take`);
    }
  }
  return { ...s, hash: featureSchemaHash(s) };
}

const schemas = new Map<string, FeatureSchema>();

/** Loads and validates a schema file once per path. */
export function loadFeatureSchema(path = DEFAULT_SCHEMA_PATH): FeatureSchema {
  const key = resolve(path);
  let schema = schemas.get(key);
  if (!schema) {
    schema = parseFeatureSchema(JSON.parse(readFileSync(key, 'utf8')), key);
    schemas.set(key, schema);
  }
  return schema;
}

function fail(row: number, field: string, why: string): never {
  throw new InvalidFeatureRowError(`row ${row}: ${field} ${why}`, row, field);
}

// The schema compiled once into flat arrays: the hot loop then validates each input once per row and writes
// features without lookups by name.
interface Plan {
  inputs: Array<{ name: string; type: 'number' | 'boolean' | 'category'; values: ReadonlySet<string> }>;
  /** Per feature: input index, op (0 identity, 1 log1p, 2 one-hot, 3 boolean), clip bounds, one-hot value. */
  input: Int32Array;
  op: Uint8Array;
  lo: Float64Array;
  hi: Float64Array;
  value: Array<string | undefined>;
}

const plans = new WeakMap<FeatureSchema, Plan>();
const OPS = { identity: 0, log1p: 1, onehot: 2, boolean: 3 } as const;

function planFor(schema: FeatureSchema): Plan {
  let plan = plans.get(schema);
  if (plan) return plan;
  const names = Object.keys(schema.inputs);
  const fs = schema.features;
  plan = {
    inputs: names.map((name) => {
      const spec = schema.inputs[name];
      return { name, type: spec.type, values: new Set(spec.type === 'category' ? spec.values : []) };
    }),
    input: Int32Array.from(fs, (f) => names.indexOf(f.input)),
    op: Uint8Array.from(fs, (f) => OPS[f.transform]),
    lo: Float64Array.from(fs, (f) => f.clip?.[0] ?? -Infinity),
    hi: Float64Array.from(fs, (f) => f.clip?.[1] ?? Infinity),
    value: fs.map((f) => f.value),
  };
  plans.set(schema, plan);
  return plan;
}

/**
 * Writes one pair's features, in schema order, into `out` at row `row`. Throws InvalidFeatureRowError for a value
 * the model must never see (NaN, Infinity, a wrong type, an unknown category); out-of-range numbers are clipped.
 */
export function writeFeatures(schema: FeatureSchema, inputs: FeatureInputs, out: Float32Array, row: number): void {
  const plan = planFor(schema);
  writeRow(plan, inputs, out, row, new Array(plan.inputs.length));
}

function writeRow(plan: Plan, inputs: FeatureInputs, out: Float32Array, row: number, vals: unknown[]): void {
  const raw = inputs as unknown as Record<string, unknown>;
  for (let i = 0; i < plan.inputs.length; i++) {
    const spec = plan.inputs[i];
    const v = raw[spec.name];
    if (spec.type === 'number') {
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(row, spec.name, `is ${String(v)}, not a finite number`);
    } else if (spec.type === 'boolean') {
      if (typeof v !== 'boolean') fail(row, spec.name, `is ${JSON.stringify(v)}, not a boolean`);
    } else if (typeof v !== 'string' || !spec.values.has(v)) {
      fail(row, spec.name, `is ${JSON.stringify(v)}`);
    }
    vals[i] = v;
  }
  const width = plan.op.length;
  const base = row * width;
  for (let j = 0; j < width; j++) {
    const v = vals[plan.input[j]];
    const op = plan.op[j];
    if (op === 2) out[base + j] = v === plan.value[j] ? 1 : 0;
    else if (op === 3) out[base + j] = v ? 1 : 0;
    else {
      const x = Math.min(Math.max(v as number, plan.lo[j]), plan.hi[j]);
      out[base + j] = op === 1 ? Math.log1p(x) : x;
    }
  }
}

/** One pair's feature row in schema order. */
export function buildFeatures(inputs: FeatureInputs, schema = loadFeatureSchema()): Float32Array {
  const out = new Float32Array(schema.features.length);
  writeFeatures(schema, inputs, out, 0);
  return out;
}

/** Row-major [rows.length, features] matrix, ready to be a tensor. */
export function buildFeatureMatrix(rows: readonly FeatureInputs[], schema = loadFeatureSchema()): Float32Array {
  const plan = planFor(schema);
  const out = new Float32Array(rows.length * schema.features.length);
  const vals: unknown[] = new Array(plan.inputs.length);
  for (let i = 0; i < rows.length; i++) writeRow(plan, rows[i], out, i, vals);
  return out;
}
