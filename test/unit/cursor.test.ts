import { strict as assert } from 'node:assert';
import { DomainError } from '../../domain/errors';
import { createCursorCodec, type FeedCursor } from '../../services/query/cursor';

const codec = createCursorCodec('unit-secret');
const page: FeedCursor = { phase: 'window', s: 1_700_000_000_000, w: 'sess1', p: 20 };
const tail: FeedCursor = { phase: 'tail', s: 1_700_000_000_000, k: 1_699_999_000_000, i: 'p42' };

const refusal = (token: string, owner = 'u1'): string => {
  try {
    codec.feed.decode(token, owner);
  } catch (err) {
    assert.ok(err instanceof DomainError, `expected a DomainError, got ${String(err)}`);
    assert.equal(err.kind, 'invalid');
    assert.equal(err.reason, 'INVALID_CURSOR');
    return err.message;
  }
  assert.fail(`accepted ${JSON.stringify(token)}`);
};

describe('cursor codec', () => {
  it('decodes what it encoded, for its owner, in both phases of a feed', () => {
    assert.deepEqual(codec.feed.decode(codec.feed.encode('u1', page), 'u1'), page);
    assert.deepEqual(codec.feed.decode(codec.feed.encode('u1', tail), 'u1'), tail);
  });

  it('carries the no-discovery flag to later pages', () => {
    assert.equal(codec.feed.decode(codec.feed.encode('u1', { ...page, d: true }), 'u1').d, true);
    assert.equal('d' in codec.feed.decode(codec.feed.encode('u1', page), 'u1'), false);
  });

  it('gives each pagination its own cursor: one is never read as another', () => {
    const network = codec.network.encode('u1', { p: 20 });
    assert.deepEqual(codec.network.decode(network, 'u1'), { p: 20 });
    assert.match(refusal(network), /another listing/);
    const posts = codec.authorPosts.encode('u1', { k: 5, i: 'p1' });
    assert.deepEqual(codec.authorPosts.decode(posts, 'u1'), { k: 5, i: 'p1' });
    assert.throws(() => codec.network.decode(posts, 'u1'), /another listing/);
  });

  it('is opaque: the token is url-safe and names no field in clear', () => {
    const token = codec.feed.encode('u1', page);
    assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    assert.ok(!token.includes('sess1'));
  });

  it("refuses another member's cursor", () => {
    assert.match(refusal(codec.feed.encode('u1', page), 'u2'), /another member/);
  });

  it('refuses a cursor signed with another secret', () => {
    assert.match(refusal(createCursorCodec('other-secret').feed.encode('u1', page)), /signature/);
  });

  it('refuses a cursor whose body was edited', () => {
    const [, sig] = codec.feed.encode('u1', page).split('.');
    const forged = Buffer.from(JSON.stringify({ v: 2, c: 'feed', u: 'u1', ...page, p: 0 })).toString('base64url');
    assert.match(refusal(`${forged}.${sig}`), /signature/);
  });

  it('refuses a cursor whose signature was edited', () => {
    const token = codec.feed.encode('u1', page);
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    assert.match(refusal(token.slice(0, -1) + last), /signature/);
  });

  it('refuses base64 padding or non-url-safe characters in either part', () => {
    const [body, sig] = codec.feed.encode('u1', page).split('.');
    for (const token of [
      `${body}.${sig}=`,
      `${body}.${sig}==`,
      `${body}=.${sig}`,
      `${body}.${sig}`.replace(/-|_/g, '+'),
    ]) {
      if (token === `${body}.${sig}`) continue;
      assert.match(refusal(token), /malformed|signature/, token);
    }
    assert.match(refusal(`${body}.${sig}=`), /malformed/);
  });

  it('refuses garbage', () => {
    const ok = codec.feed.encode('u1', page);
    for (const token of ['', '.', 'abc', 'abc.', '.abc', 'a.b.c', 'not a cursor', `${ok}.x`]) refusal(token);
    assert.match(refusal('a'.repeat(2049)), /too long/);
  });

  it('refuses signed cursors of another version or with missing or mistyped fields', () => {
    // encode spreads its argument after the header, so these are signed as the server would sign them.
    const signed = (c: Record<string, unknown>) => codec.feed.encode('u1', c as unknown as FeedCursor);
    assert.match(refusal(signed({ ...page, v: 3 })), /version 3/);
    const { w: _w, ...noWindow } = page;
    const bad = [noWindow, { ...page, p: -1 }, { ...page, p: 1.5 }, { ...page, s: '1' }, { ...page, d: false }];
    for (const c of [...bad, { ...tail, k: 'x' }, { ...page, phase: 'other' }]) {
      assert.match(refusal(signed(c)), /missing fields/, JSON.stringify(c));
    }
  });
});
