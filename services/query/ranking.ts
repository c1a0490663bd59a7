import { NEUTRAL_SCORE } from '../../stores/read-model';

/**
 * Feed ordering: rank = stored relevance score × time decay, with ties broken by post id so the order is total
 * and deterministic. Decay is measured against the session's snapshot time, so ranks do not drift between pages.
 */

export interface Rankable {
  postId: string;
  authorId: string;
  createdAt: number;
  score: number;
}

export interface Ranked<T extends Rankable> {
  item: T;
  rank: number;
}

export function decay(ageMs: number, halfLifeMs: number): number {
  return Math.pow(0.5, Math.max(0, ageMs) / halfLifeMs);
}

export function rank<T extends Rankable>(items: T[], snapshotMs: number, halfLifeMs: number): Array<Ranked<T>> {
  return items
    .map((item) => ({
      item,
      rank: (Number.isFinite(item.score) ? item.score : NEUTRAL_SCORE) * decay(snapshotMs - item.createdAt, halfLifeMs),
    }))
    .sort((a, b) => b.rank - a.rank || (a.item.postId < b.item.postId ? 1 : a.item.postId > b.item.postId ? -1 : 0));
}

/**
 * Reorders a ranked list so that no more than `maxRun` consecutive items share an author, when another author's
 * item is available: the next best item by another author is pulled forward. Stable and deterministic.
 */
export function diversify<T extends Rankable>(ranked: Array<Ranked<T>>, maxRun = 2): Array<Ranked<T>> {
  const rest = [...ranked];
  const out: Array<Ranked<T>> = [];
  while (rest.length) {
    const n = out.length;
    const runAuthor =
      n >= maxRun && out.slice(n - maxRun).every((r) => r.item.authorId === out[n - 1].item.authorId)
        ? out[n - 1].item.authorId
        : undefined;
    let idx = 0;
    if (runAuthor !== undefined) {
      const other = rest.findIndex((r) => r.item.authorId !== runAuthor);
      if (other >= 0) idx = other;
    }
    out.push(rest.splice(idx, 1)[0]);
  }
  return out;
}
