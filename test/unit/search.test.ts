import { strict as assert } from 'node:assert';
import { DomainError } from '../../domain/errors';
import { queryTextOf } from '../../services/query/search';
import { externalVersion, searchDocOf } from '../../stores/search';
import { postQueryBody } from '../../stores/search-query';
import type { PostDoc } from '../../stores/write-model';

describe('search, without servers', () => {
  const post: PostDoc = {
    _id: 'p1',
    authorId: 'a1',
    content: 'Hello engines',
    visibility: 'connections',
    type: 'text',
    mediaUrls: ['x', 'y'],
    version: 3,
    deleted: false,
    createdAt: new Date('2026-01-01T00:00:00Z'),
    updatedAt: new Date('2026-01-01T00:00:00Z'),
  };

  it('orders writes by post version first, then by the author profile version', () => {
    const v = (version: number, authorVersion: number) => externalVersion({ version, authorVersion });
    assert.ok(v(2, 1) > v(1, 999));
    assert.ok(v(2, 5) > v(2, 4));
    assert.ok(v(3, 10 ** 9) < v(4, 0), 'a runaway profile version never outranks a newer post version');
  });

  it('writes a deleted post as a tombstone without its content', () => {
    const doc = searchDocOf({ ...post, deleted: true, version: 4 }, { displayName: 'Ann', version: 2 });
    assert.deepEqual(
      { deleted: doc.deleted, content: doc.content, authorName: doc.authorName, version: doc.version },
      { deleted: true, content: '', authorName: '', version: 4 },
    );
    const live = searchDocOf(post, { displayName: 'Ann', version: 2 });
    assert.deepEqual([live.mediaCount, live.authorName, live.authorVersion], [2, 'Ann', 2]);
  });

  it('accepts plain words and operators, and refuses what has nothing to search for', () => {
    assert.equal(queryTextOf('  moth "log book" -draft  ', 200), 'moth "log book" -draft');
    for (const bad of ['', '  ', '"*+-|()', 'a'.repeat(201), 'x\u0000y', Array(33).fill('w').join(' ')]) {
      assert.throws(
        () => queryTextOf(bad, 200),
        (e: unknown) => e instanceof DomainError && e.kind === 'invalid',
      );
    }
  });

  it('sends the text only inside simple_query_string, within the viewer’s audience', () => {
    const body = postQueryBody({
      viewerId: 'v',
      text: '{"match_all":{}}',
      connections: ['c1'],
      blocked: ['b1'],
      sort: 'newest',
      size: 10,
    }) as { query: { bool: { must: unknown[]; filter: unknown[] } }; sort: unknown };
    const json = JSON.stringify(body);
    assert.equal(json.split('match_all').length, 2, 'the text appears once');
    assert.deepEqual(
      (body.query.bool.must[0] as { simple_query_string: { query: string } }).simple_query_string.query,
      '{"match_all":{}}',
    );
    assert.match(json, /"must_not":\[\{"terms":\{"authorId":\["b1"\]\}\}\]/);
    assert.match(json, /\{"term":\{"visibility":"connections"\}\},\{"terms":\{"authorId":\["c1"\]\}\}/);
    assert.deepEqual(body.sort, [{ createdAt: 'desc' }, { postId: 'desc' }]);
  });
});
