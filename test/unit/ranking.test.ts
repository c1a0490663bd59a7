import { strict as assert } from 'node:assert';
import { decay, diversify, rank, type Rankable } from '../../services/query/ranking';
import { NEUTRAL_SCORE } from '../../stores/read-model';

const HOUR = 3_600_000;
const NOW = 1_700_000_000_000;
const item = (postId: string, authorId: string, score: number, ageMs = 0): Rankable => ({
  postId,
  authorId,
  score,
  createdAt: NOW - ageMs,
});
const ids = (xs: Array<{ item: Rankable }>) => xs.map((r) => r.item.postId);

describe('feed ranking', () => {
  describe('decay', () => {
    it('halves per half-life and never exceeds 1 for future-dated posts', () => {
      assert.equal(decay(0, HOUR), 1);
      assert.equal(decay(HOUR, HOUR), 0.5);
      assert.equal(decay(3 * HOUR, HOUR), 0.125);
      assert.equal(decay(-HOUR, HOUR), 1);
    });
  });

  describe('rank', () => {
    it('orders by score times decay against the snapshot', () => {
      const ranked = rank(
        [item('old', 'a', 0.8, 2 * HOUR), item('new', 'b', 0.3), item('mid', 'c', 0.5, HOUR)],
        NOW,
        HOUR,
      );
      assert.deepEqual(ids(ranked), ['new', 'mid', 'old']);
      assert.deepEqual(
        ranked.map((r) => r.rank),
        [0.3, 0.25, 0.2],
      );
    });

    it('measures age against the snapshot, not the clock, so later pages rank alike', () => {
      const items = [item('p1', 'a', 1, HOUR)];
      assert.equal(rank(items, NOW, HOUR)[0].rank, 0.5);
      assert.equal(rank(items, NOW + HOUR, HOUR)[0].rank, 0.25);
    });

    it('breaks equal ranks by post id, the same way whatever the input order', () => {
      const tied = [item('p1', 'a', 0.5), item('p3', 'b', 0.5), item('p2', 'c', 0.5)];
      const once = ids(rank(tied, NOW, HOUR));
      assert.deepEqual(once, ['p3', 'p2', 'p1']);
      assert.deepEqual(ids(rank([...tied].reverse(), NOW, HOUR)), once);
    });

    it('ranks an item with a non-finite score as neutral', () => {
      for (const score of [NaN, Infinity, -Infinity]) {
        assert.equal(rank([item('p', 'a', score)], NOW, HOUR)[0].rank, NEUTRAL_SCORE);
      }
    });

    it('leaves its input alone', () => {
      const items = [item('p1', 'a', 0.1), item('p2', 'a', 0.9)];
      rank(items, NOW, HOUR);
      assert.deepEqual(
        items.map((i) => i.postId),
        ['p1', 'p2'],
      );
    });
  });

  describe('diversify', () => {
    const ranked = (spec: string) =>
      // 'a1 a2 b1' → items by authors a, a, b in that rank order.
      rank(
        spec.split(' ').map((id, n, all) => item(id, id[0], all.length - n)),
        NOW,
        HOUR,
      );

    it('pulls the next other author forward after a run of two', () => {
      assert.deepEqual(ids(diversify(ranked('a1 a2 a3 a4 b1 b2'))), ['a1', 'a2', 'b1', 'a3', 'a4', 'b2']);
    });

    it('honours a shorter run limit', () => {
      assert.deepEqual(ids(diversify(ranked('a1 a2 a3 b1 b2 c1'), 1)), ['a1', 'b1', 'a2', 'b2', 'a3', 'c1']);
    });

    it('keeps the order when no run is too long', () => {
      assert.deepEqual(ids(diversify(ranked('a1 a2 b1 b2 a3 c1'))), ['a1', 'a2', 'b1', 'b2', 'a3', 'c1']);
    });

    it('lets a run stand when no other author is left', () => {
      assert.deepEqual(ids(diversify(ranked('a1 b1 a2 a3 a4'))), ['a1', 'b1', 'a2', 'a3', 'a4']);
    });

    it("keeps each author's items in rank order and their ranks attached", () => {
      const input = ranked('a1 a2 a3 a4 b1 c1 b2');
      const out = diversify(input);
      assert.equal(out.length, input.length);
      for (const author of ['a', 'b', 'c']) {
        assert.deepEqual(
          ids(out.filter((r) => r.item.authorId === author)),
          ids(input.filter((r) => r.item.authorId === author)),
        );
      }
      for (const r of out) assert.equal(r.rank, input.find((x) => x.item === r.item)?.rank);
      assert.deepEqual(ids(input), ['a1', 'a2', 'a3', 'a4', 'b1', 'c1', 'b2']);
    });

    it('returns an empty feed for an empty window', () => {
      assert.deepEqual(diversify([]), []);
    });
  });
});
