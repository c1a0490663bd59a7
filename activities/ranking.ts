import { ApplicationFailure } from '@temporalio/activity';
import type { Db } from 'mongodb';
import type { ScoringPair, SkipReason } from '../ranking/features';
import { buildFeatureMatrix, type FeatureInputs, InvalidFeatureRowError } from '../ranking/schema';
import {
  DEFAULT_MODEL_PATH,
  type EngagementModel,
  loadEngagementModel,
  type ModelOptions,
  ModelSchemaMismatchError,
} from '../stores/model';
import { assembleFeatureInputs } from '../stores/ranking-inputs';
import { writeModel } from '../stores/write-model';
import { heartbeat } from './heartbeat';

export interface RankingDeps {
  db: Db;
  /** The ONNX model file; one session per path and process, shared by every factory that names it. */
  modelPath?: string;
  model?: ModelOptions;
  /** Windows of the author's posts behind the author's engagement rate and the viewer's past interactions. */
  authorWindowDays?: number;
  interactionWindowDays?: number;
}

export interface ScoreItemsInput {
  items: ScoringPair[];
  /** Epoch ms the features are taken at (a workflow passes its own clock); defaults to now. */
  scoredAt?: number;
}

export interface ItemScore extends ScoringPair {
  score: number;
}

export interface ScoreItemsResult {
  modelVersion: string;
  scoredAt: number;
  scores: ItemScore[];
  /** Pairs with no score: their post is gone. */
  skipped: Array<ScoringPair & { reason: SkipReason }>;
}

/**
 * A bad row is permanent: retrying the same features fails the same way, so the batch fails at once with a
 * typed failure the Temporal UI shows. A model/schema mismatch is a deploy error: retried, typed, until fixed.
 */
function toFailure(err: unknown): unknown {
  if (err instanceof InvalidFeatureRowError) {
    return ApplicationFailure.create({
      type: 'InvalidFeatureRow',
      message: err.message,
      nonRetryable: true,
      details: [{ row: err.row, field: err.field }],
    });
  }
  if (err instanceof ModelSchemaMismatchError) {
    return ApplicationFailure.create({ type: 'ModelSchemaMismatch', message: err.message, nonRetryable: false });
  }
  return err;
}

async function scoreRows(model: EngagementModel, rows: readonly FeatureInputs[]): Promise<Float32Array> {
  const features = buildFeatureMatrix(rows, model.schema);
  return model.score(features, rows.length, { onBatch: (done) => heartbeat({ done }) });
}

/** The activities of createRankingActivities, as workflows proxy them. */
export interface RankingActivities {
  scoreItems(input: ScoreItemsInput): Promise<ScoreItemsResult>;
  modelVersion(): Promise<string>;
}

/** Scoring activities for the `ranking` task queue. */
export function createRankingActivities(deps: RankingDeps): RankingActivities {
  const wm = writeModel(deps.db);
  const model = () => loadEngagementModel(deps.modelPath ?? DEFAULT_MODEL_PATH, deps.model);

  return {
    /**
     * Scores (viewer, post) pairs with features assembled from the write model in batched queries. Returns the
     * score and model version of every pair whose post still exists. Read-only, so retries are harmless.
     */
    async scoreItems(input: ScoreItemsInput): Promise<ScoreItemsResult> {
      const scoredAt = input.scoredAt ?? Date.now();
      try {
        const m = await model();
        const { rows, skipped } = await assembleFeatureInputs(wm, input.items, {
          at: new Date(scoredAt),
          authorWindowDays: deps.authorWindowDays,
          interactionWindowDays: deps.interactionWindowDays,
        });
        const scores = await scoreRows(
          m,
          rows.map((r) => r.inputs),
        );
        return {
          modelVersion: m.info.modelVersion,
          scoredAt,
          scores: rows.map((r, i) => ({ viewerId: r.viewerId, postId: r.postId, score: scores[i] })),
          skipped,
        };
      } catch (err) {
        throw toFailure(err);
      }
    },

    /** The model version this worker serves, for the rollout workflow to compare against stored items. */
    async modelVersion(): Promise<string> {
      try {
        return (await model()).info.modelVersion;
      } catch (err) {
        throw toFailure(err);
      }
    },
  };
}
