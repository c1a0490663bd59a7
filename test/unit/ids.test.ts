import { strict as assert } from 'node:assert';
import { DomainError } from '../../domain/errors';
import { blockId, connectionId, feedItemId, followId, requireId } from '../../domain/ids';

const failure = (fn: () => unknown): DomainError => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DomainError, `expected a DomainError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a failure');
};

describe('document ids', () => {
  it('gives a pair one connection id whoever asked, lower id first', () => {
    assert.equal(connectionId('u2', 'u1'), 'c-u1-u2');
    assert.equal(connectionId('u1', 'u2'), 'c-u1-u2');
    assert.notEqual(connectionId('u1', 'u2'), connectionId('u1', 'u3'));
  });

  it('gives follows and blocks one id per direction', () => {
    assert.equal(followId('u1', 'u2'), 'f-u1-u2');
    assert.notEqual(followId('u1', 'u2'), followId('u2', 'u1'));
    assert.equal(blockId('u1', 'u2'), 'b-u1-u2');
    assert.notEqual(blockId('u1', 'u2'), blockId('u2', 'u1'));
    assert.notEqual(followId('u1', 'u2'), blockId('u1', 'u2'));
  });

  it('keys a feed item by viewer and post', () => {
    assert.equal(feedItemId('u1', 'p9'), 'u1:p9');
  });

  describe('requireId', () => {
    it('returns a well-formed id unchanged', () => {
      assert.equal(requireId('u_1A', 'userId'), 'u_1A');
      assert.equal(requireId('a'.repeat(64), 'userId'), 'a'.repeat(64));
    });

    it('refuses a missing id as MISSING_FIELD naming the field', () => {
      const err = failure(() => requireId('', 'authorId'));
      assert.equal(err.kind, 'invalid');
      assert.equal(err.reason, 'MISSING_FIELD');
      assert.match(err.message, /authorId/);
    });

    it('refuses ids that would make joined ids ambiguous, or too long, as MALFORMED_ID', () => {
      for (const bad of ['u-1', 'u:1', 'u 1', 'u/1', 'ü', 'a'.repeat(65)]) {
        const err = failure(() => requireId(bad, 'postId'));
        assert.equal(err.kind, 'invalid', bad);
        assert.equal(err.reason, 'MALFORMED_ID', bad);
        assert.match(err.message, /postId/);
      }
    });
  });
});
