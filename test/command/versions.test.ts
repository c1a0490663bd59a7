import { strict as assert } from 'node:assert';
import { Code, ConnectError } from '@connectrpc/connect';
import { startCommandHarness, type CommandHarness } from '../support/command';

/** The expected_version rule, the same for UpdatePost and DeletePost: a version guards, 0 means any. */
describe('CommandService expected_version on posts', function () {
  this.timeout(60_000);
  let h: CommandHarness;
  before(async () => {
    h = await startCommandHarness();
  });
  after(async () => h?.close());

  const abortedAt = async (call: Promise<unknown>): Promise<string> => {
    try {
      await call;
    } catch (err) {
      const e = ConnectError.from(err);
      assert.equal(e.code, Code.Aborted, e.rawMessage);
      return e.rawMessage;
    }
    throw new Error('expected ABORTED');
  };

  it('UpdatePost: applies at the current version, aborts a stale one naming the current, and takes 0 as any', async () => {
    const a = await h.register();
    const postId = await h.post(a);
    const v2 = await h.client.updatePost({ authorId: a, postId, content: 'second', expectedVersion: 1 });
    assert.equal(v2.receipt!.version, 2);
    assert.match(
      await abortedAt(h.client.updatePost({ authorId: a, postId, content: 'stale', expectedVersion: 1 })),
      /version 2/,
    );
    assert.match(
      await abortedAt(h.client.updatePost({ authorId: a, postId, content: 'ahead', expectedVersion: 7 })),
      /version 2/,
    );
    const any = await h.client.updatePost({ authorId: a, postId, content: 'third' });
    assert.equal(any.receipt!.version, 3);
    assert.equal(any.receipt!.replayed, false);
  });

  it('DeletePost: the same rule', async () => {
    const a = await h.register();
    const guarded = await h.post(a);
    await h.client.updatePost({ authorId: a, postId: guarded, content: 'edited', expectedVersion: 0 });
    assert.match(
      await abortedAt(h.client.deletePost({ authorId: a, postId: guarded, expectedVersion: 1 })),
      /version 2/,
    );
    const del = await h.client.deletePost({ authorId: a, postId: guarded, expectedVersion: 2 });
    assert.equal(del.receipt!.version, 3);
    const blind = await h.post(a);
    assert.equal((await h.client.deletePost({ authorId: a, postId: blind, expectedVersion: 0 })).receipt!.version, 2);
  });

  it('at 0, concurrent edits of one post all land, each on its own version', async () => {
    const a = await h.register();
    const postId = await h.post(a);
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => h.client.updatePost({ authorId: a, postId, content: `edit ${i}` })),
    );
    assert.deepEqual(results.map((r) => r.receipt!.version).sort(), [2, 3, 4, 5, 6]);
  });
});
