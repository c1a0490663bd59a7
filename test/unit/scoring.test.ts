import { strict as assert } from 'node:assert';
import { type FeedReason, scoringReasonOf } from '../../domain/reasons';
import { provisionalScore } from '../../ranking/provisional';

const REASONS: FeedReason[] = ['own', 'connection', 'follow', 'backfill', 'second_degree', 'popular_author'];

describe('scoring reasons and provisional scores', () => {
  it('scores the relationship reasons as themselves', () => {
    for (const r of ['own', 'connection', 'follow', 'second_degree'] as const) assert.equal(scoringReasonOf(r), r);
  });

  it("scores a backfilled item and a popular author's pulled post as a follow", () => {
    assert.equal(scoringReasonOf('backfill'), 'follow');
    assert.equal(scoringReasonOf('popular_author'), 'follow');
  });

  it("gives every feed reason a provisional score on the model's probability scale", () => {
    for (const r of REASONS) {
      const s = provisionalScore(scoringReasonOf(r));
      assert.ok(Number.isFinite(s) && s > 0 && s < 1, `${r}: ${s}`);
    }
  });

  it('ranks closer relationships higher until the model scores the item', () => {
    assert.equal(provisionalScore('own'), provisionalScore('connection'));
    assert.ok(provisionalScore('connection') > provisionalScore('follow'));
    assert.ok(provisionalScore('follow') > provisionalScore('second_degree'));
  });
});
