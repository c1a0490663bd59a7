import { strict as assert } from 'node:assert';
import { DomainError } from '../../domain/errors';
import { createCursorCodec, type FeedCursor } from '../../services/query/cursor';

const codec = createCursorCodec('unit-secret');
const page: Omit<FeedCursor, 'v'> = { u: 'u1', s: 1_700_000_000_000, w: 'sess1', p: 20, k: 0.4375, i: 'p42' };

const refusal = (token: string, owner = 'u1'): string => {
  try {
    codec.decode(token, owner);
  } catch (err) {
    assert.ok(err instanceof DomainError, `expected a DomainError, got ${String(err)}`);
    assert.equal(err.kind, 'invalid');
    assert.equal(err.reason, 'INVALID_CURSOR');
    return err.message;
  }
  assert.fail(`accepted ${JSON.stringify(token)}`);
};

describe('feed cursor codec', () => {
  it('decodes what it encoded, for its owner', () => {
    assert.deepEqual(codec.decode(codec.encode(page), 'u1'), { v: 1, ...page });
  });

  it('carries the no-discovery flag to later pages', () => {
    assert.equal(codec.decode(codec.encode({ ...page, d: true }), 'u1').d, true);
    assert.equal('d' in codec.decode(codec.encode(page), 'u1'), false);
  });

  it('is opaque: the token is url-safe and names no field in clear', () => {
    const token = codec.encode(page);
    assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    assert.ok(!token.includes('sess1'));
  });

  it("refuses another member's cursor", () => {
    assert.match(refusal(codec.encode(page), 'u2'), /another member/);
  });

  it('refuses a cursor signed with another secret', () => {
    assert.match(refusal(createCursorCodec('other-secret').encode(page)), /signature/);
  });

  it('refuses a cursor whose body was edited', () => {
    const [, sig] = codec.encode(page).split('.');
    const forged = Buffer.from(JSON.stringify({ v: 1, ...page, p: 0 })).toString('base64url');
    assert.match(refusal(`${forged}.${sig}`), /signature/);
  });

  it('refuses a cursor whose signature was edited', () => {
    const token = codec.encode(page);
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    assert.match(refusal(token.slice(0, -1) + last), /signature/);
  });

  it('refuses garbage', () => {
    for (const token of ['', '.', 'abc', 'abc.', '.abc', 'a.b.c', 'not a cursor', `${codec.encode(page)}.x`]) {
      refusal(token);
    }
    assert.match(refusal('a'.repeat(2049)), /too long/);
  });

  it('refuses signed cursors of another version or with missing or mistyped fields', () => {
    // encode spreads its argument after the version, so these are signed as the server would sign them.
    const signed = (c: Record<string, unknown>) => codec.encode(c as unknown as Omit<FeedCursor, 'v'>);
    assert.match(refusal(signed({ ...page, v: 2 })), /version 2/);
    const { w: _w, ...noWindow } = page;
    for (const c of [noWindow, { ...page, p: -1 }, { ...page, p: 1.5 }, { ...page, s: '1' }, { ...page, d: false }]) {
      assert.match(refusal(signed(c)), /missing fields/, JSON.stringify(c));
    }
  });
});
