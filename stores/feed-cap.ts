import type { Collection, Document, Filter } from 'mongodb';
import { lookupFor } from './lookup';
import { recentMinutes } from './projected-minute';
import type { FeedItemDoc, ReadModel } from './read-model';

/** Keeps a viewer's newest `cap` items and deletes the rest; returns how many went. */
async function trimViewer(rm: ReadModel, viewerId: string, cap: number): Promise<number> {
  const stale = await rm.feedItems
    .find({ viewerId }, { projection: { _id: 1 } })
    .sort({ createdAt: -1, postId: -1 })
    .skip(cap)
    .toArray();
  const lookup = await lookupFor(rm.feedItems.db);
  let trimmed = 0;
  for (let i = 0; i < stale.length; i += 500) {
    trimmed += await lookup.deleteByIds(
      rm.feedItems,
      stale.slice(i, i + 500).map((d) => d._id),
    );
  }
  return trimmed;
}

/**
 * Streams `viewerId` of the items matching each filter, in batches, pausing between batches: a sweep is background
 * work and must leave the store to the fan-outs.
 */
async function forEachViewerId(
  rm: ReadModel,
  filters: Filter<FeedItemDoc>[],
  pauseMs: number,
  fn: (viewerId: string) => void,
): Promise<void> {
  for (const filter of filters) {
    const cursor = rm.feedItems.find(filter, { projection: { _id: 0, viewerId: 1 }, batchSize: SWEEP_BATCH });
    let n = 0;
    for await (const { viewerId } of cursor) {
      fn(viewerId);
      if (++n % SWEEP_BATCH === 0 && pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
    }
  }
}

const SWEEP_BATCH = 1_000;
/** Past this many recently written viewers, one pass over all feeds is cheaper than counting them chunk by chunk. */
const FULL_SCAN_ABOVE = 2_000;

/**
 * Enforces the per-viewer cap: every viewer written to since `since` keeps their newest `cap` items. Only those
 * viewers can have grown; they are found by the minutes their items were projected in, and counted per viewer.
 */
export async function trimFeedsToCap(
  rm: ReadModel,
  opts: { cap: number; since: Date; pauseMs?: number },
): Promise<{ viewers: number; trimmedViewers: number; trimmed: number }> {
  const pauseMs = opts.pauseMs ?? 0;
  const lookup = await lookupFor(rm.feedItems.db);
  const touched = new Set<string>();
  for (const minute of recentMinutes(opts.since)) {
    const recent = await lookup.byValues(
      rm.feedItems,
      'projectedMinute',
      [minute],
      { projectedAt: { $gte: opts.since } },
      { projection: { viewerId: 1 } },
    );
    for (const { viewerId } of recent) touched.add(viewerId);
    if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
  }
  const ids = [...touched];
  const counts = new Map<string, number>();
  if (ids.length > FULL_SCAN_ABOVE) {
    await forEachViewerId(rm, [{}], pauseMs, (v) => counts.set(v, (counts.get(v) ?? 0) + 1));
  } else {
    for (let i = 0; i < ids.length; i += 200) {
      const rows = await lookup.aggregateByValues<{ _id: string; n: number }>(
        rm.feedItems as unknown as Collection<Document>,
        'viewerId',
        ids.slice(i, i + 200),
        {},
        [{ $group: { _id: '$viewerId', n: { $sum: 1 } } }],
      );
      for (const r of rows) counts.set(r._id, r.n);
      if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
    }
  }
  let trimmed = 0;
  let trimmedViewers = 0;
  for (const [viewerId, n] of counts) {
    if (n <= opts.cap || !touched.has(viewerId)) continue;
    trimmed += await trimViewer(rm, viewerId, opts.cap);
    trimmedViewers++;
  }
  return { viewers: touched.size, trimmedViewers, trimmed };
}
