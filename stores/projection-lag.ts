import type { PushedReason } from '../domain/reasons';
import { lookupFor } from './lookup';
import { recentMinutes } from './projected-minute';
import type { ReadModel } from './read-model';

export interface LagDistribution {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  /** Items per upper bound in ms (`Infinity` last). */
  histogram: Array<{ le: number; count: number }>;
}

export const LAG_BUCKETS_MS = [10, 30, 50, 100, 150, 200, 500, 1_000, 5_000, Infinity];

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function distribution(values: number[]): LagDistribution {
  const sorted = [...values].sort((a, b) => a - b);
  const histogram = LAG_BUCKETS_MS.map((le) => ({ le, count: 0 }));
  for (const v of sorted) histogram.find((b) => v <= b.le)!.count++;
  return {
    count: sorted.length,
    min: sorted[0] ?? 0,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? 0,
    mean: sorted.length ? sorted.reduce((s, v) => s + v, 0) / sorted.length : 0,
    histogram,
  };
}

/**
 * Projection lag (command accepted → item projected) of the items projected since `since`, optionally for one
 * reason. Values are in milliseconds.
 */
export async function projectionLag(
  rm: ReadModel,
  opts: { since: Date; reason?: PushedReason; limit?: number },
): Promise<LagDistribution> {
  const filter = { projectedAt: { $gte: opts.since }, ...(opts.reason ? { reason: opts.reason } : {}) };
  const minutes = recentMinutes(opts.since);
  const docs = (
    await (
      await lookupFor(rm.feedItems.db)
    ).byValues(rm.feedItems, 'projectedMinute', minutes, filter, {
      projection: { _id: 0, acceptedAt: 1, projectedAt: 1 },
      limit: opts.limit,
    })
  ).slice(0, opts.limit ?? 1_000_000);
  return distribution(docs.map((d) => d.projectedAt.getTime() - d.acceptedAt.getTime()));
}
