import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { type FeatureSchema, InvalidFeatureRowError, loadFeatureSchema } from '../ranking/schema';

/**
 * The engagement model behind one small module: one onnxruntime InferenceSession per model file and process,
 * created on first use, checked against the feature schema before it scores anything, and fed in fixed-size
 * batches. Nothing else in the code base touches onnxruntime.
 */

export const DEFAULT_MODEL_PATH = resolve(__dirname, '../models/engagement-v1.onnx');
export const DEFAULT_BATCH_SIZE = 512;

export interface ModelInfo {
  path: string;
  modelVersion: string;
  schemaName: string;
  schemaVersion: number;
  schemaHash: string;
  features: number;
  inputName: string;
  outputName: string;
}

export interface EngagementModel {
  info: ModelInfo;
  schema: FeatureSchema;
  /** The raw session, for benchmarks; callers score through `score`. */
  session: InferenceSession;
  /**
   * P(engage) of each row of a row-major [rows, features] matrix, in runs of `batchSize` rows. Throws
   * InvalidFeatureRowError, before any run, if a value is not finite.
   */
  score(features: Float32Array, rows: number, opts?: ScoreOptions): Promise<Float32Array>;
}

export interface ScoreOptions {
  /** Rows per session run; 512 by default. */
  batchSize?: number;
  /** Called after each run with the number of rows scored so far (to heartbeat). */
  onBatch?: (done: number) => void;
}

export interface ModelOptions {
  schema?: FeatureSchema;
  /** onnxruntime intra-op threads, fixed by the first load of a path; 1 leaves the other cores to other work. */
  threads?: number;
}

/** The model and the serving schema disagree: a deploy error, never fixed by retrying the same pair. */
export class ModelSchemaMismatchError extends Error {
  override readonly name = 'ModelSchemaMismatchError';
}

/** ONNX ModelProto.metadata_props (field 14: key = 1, value = 2); onnxruntime-node does not expose them. */
export function readModelMetadata(bytes: Uint8Array): Record<string, string> {
  const props: Record<string, string> = {};
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wire] = reader.tag();
    if (field !== 14 || wire !== WireType.LengthDelimited) {
      reader.skip(wire, field);
      continue;
    }
    const entry = new BinaryReader(reader.bytes());
    let key = '';
    let value = '';
    while (entry.pos < entry.len) {
      const [f, w] = entry.tag();
      if (f === 1) key = entry.string();
      else if (f === 2) value = entry.string();
      else entry.skip(w, f);
    }
    props[key] = value;
  }
  return props;
}

function checkSchema(path: string, meta: Record<string, string>, session: InferenceSession, schema: FeatureSchema) {
  const trained = `${meta.feature_schema_name ?? '?'} v${meta.feature_schema_version ?? '?'} (${meta.feature_schema_hash ?? 'no hash'})`;
  const serving = `${schema.name} v${schema.version} (${schema.hash})`;
  if (meta.feature_schema_hash !== schema.hash) {
    throw new ModelSchemaMismatchError(
      `model ${path} was trained against feature schema ${trained}, but serving uses ${serving}; ` +
        'retrain with ranking/train.sh or deploy the schema the model was trained with',
    );
  }
  const input = session.inputMetadata[0];
  const width = input?.isTensor ? input.shape[1] : undefined;
  if (session.inputNames.length !== 1 || width !== schema.features.length || session.outputNames.length !== 1) {
    throw new ModelSchemaMismatchError(
      `model ${path} takes inputs ${session.inputNames.join(', ')} of width ${String(width)}; ` +
        `feature schema ${serving} needs one input of width ${schema.features.length} and one output`,
    );
  }
}

async function open(path: string, schema: FeatureSchema, opts: ModelOptions): Promise<EngagementModel> {
  const bytes = await readFile(path);
  const meta = readModelMetadata(bytes);
  const session = await InferenceSession.create(bytes, {
    intraOpNumThreads: opts.threads ?? 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  try {
    checkSchema(path, meta, session, schema);
  } catch (err) {
    await session.release();
    throw err;
  }
  const info: ModelInfo = {
    path,
    modelVersion: meta.model_version ?? 'unknown',
    schemaName: schema.name,
    schemaVersion: schema.version,
    schemaHash: schema.hash,
    features: schema.features.length,
    inputName: session.inputNames[0],
    outputName: session.outputNames[0],
  };
  const width = info.features;

  return {
    info,
    schema,
    session,
    async score(features, rows, { batchSize = DEFAULT_BATCH_SIZE, onBatch } = {}) {
      if (features.length !== rows * width) {
        throw new InvalidFeatureRowError(
          `expected ${rows} rows of ${width} features, got ${features.length} values`,
          0,
          '*',
        );
      }
      for (let i = 0; i < features.length; i++) {
        if (!Number.isFinite(features[i])) {
          const row = Math.floor(i / width);
          const name = schema.features[i % width].name;
          throw new InvalidFeatureRowError(`row ${row}: feature ${name} is ${features[i]}`, row, name);
        }
      }
      const out = new Float32Array(rows);
      for (let start = 0; start < rows; start += batchSize) {
        const n = Math.min(batchSize, rows - start);
        const input = new Tensor('float32', features.subarray(start * width, (start + n) * width), [n, width]);
        const result = await session.run({ [info.inputName]: input });
        out.set(result[info.outputName].data as Float32Array, start);
        onBatch?.(start + n);
      }
      return out;
    },
  };
}

const models = new Map<string, Promise<EngagementModel>>();

/**
 * The process-wide model for a file, created on first call and shared afterwards (one session per path and
 * schema). A failed load is not cached, so a later call tries again once the file or schema is fixed.
 */
export function loadEngagementModel(path = DEFAULT_MODEL_PATH, opts: ModelOptions = {}): Promise<EngagementModel> {
  const schema = opts.schema ?? loadFeatureSchema();
  const key = `${resolve(path)}#${schema.hash}`;
  let model = models.get(key);
  if (!model) {
    model = open(resolve(path), schema, opts);
    models.set(key, model);
    model.catch(() => models.delete(key));
  }
  return model;
}

/** Releases every session; for worker shutdown and tests. */
export async function closeEngagementModels(): Promise<void> {
  const all = [...models.values()];
  models.clear();
  await Promise.all(all.map((m) => m.then((x) => x.session.release()).catch(() => undefined)));
}
