import { strict as assert } from 'node:assert';
import { Code, ConnectError } from '@connectrpc/connect';
import { EngagementKind, Visibility } from '../../gen/feedflow/v1/common_pb';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb';
import { startQueryHarness, type QueryHarness } from '../support/query';

/**
 * Who sees a post where, as common.proto documents it, and that a post a member may not see is indistinguishable
 * from one that does not exist, on the command side as on the query side. Real gRPC to real servers.
 */
describe('Post visibility and existence', function () {
  this.timeout(120_000);
  let h: QueryHarness;
  let author: string, friend: string, stranger: string, blocked: string;
  const posts: Record<'pub' | 'conn' | 'priv', string> = { pub: '', conn: '', priv: '' };
  before(async () => {
    h = await startQueryHarness();
    [author, friend, stranger, blocked] = [
      await h.register('Author'),
      await h.register('Friend'),
      await h.register('Stranger'),
      await h.register('Blocked'),
    ];
    const req = await h.client.requestConnection({ requesterId: author, addresseeId: friend });
    await h.client.respondToConnection({ addresseeId: friend, connectionId: req.connectionId, accept: true });
    posts.pub = await h.post(author, { visibility: Visibility.PUBLIC });
    posts.conn = await h.post(author, { visibility: Visibility.CONNECTIONS });
    posts.priv = await h.post(author, { visibility: Visibility.PRIVATE });
    await h.client.block({ blockerId: blocked, blockedId: author });
  });
  after(async () => h?.close());

  /** The code, message (with the post id masked) and ErrorInfo reason a call fails with. */
  const failure = async (call: Promise<unknown>, postId: string) => {
    try {
      await call;
    } catch (err) {
      const e = ConnectError.from(err);
      return {
        code: e.code,
        message: e.rawMessage.replace(postId, '<id>'),
        reason: e.findDetails(ErrorInfoSchema)[0]?.reason,
      };
    }
    throw new Error('expected the call to fail');
  };
  const like = (userId: string, postId: string) =>
    h.client.recordEngagement({ userId, postId, kind: EngagementKind.LIKE });

  it('serves a public post by id to any member it is not blocked from, connections-only to connections only', async () => {
    const sees = async (viewerId: string, postId: string) =>
      h.feed.getPost({ viewerId, postId }).then(
        () => true,
        (err) => (ConnectError.from(err).code === Code.NotFound ? false : Promise.reject(err)),
      );
    const table = [];
    for (const viewer of [author, friend, stranger, blocked]) {
      table.push([await sees(viewer, posts.pub), await sees(viewer, posts.conn), await sees(viewer, posts.priv)]);
    }
    assert.deepEqual(table, [
      [true, true, true],
      [true, true, false],
      [true, false, false],
      [false, false, false],
    ]);
    const listed = async (viewerId: string) =>
      (await h.feed.listPostsByAuthor({ viewerId, authorId: author })).posts.map((p) => p.postId).sort();
    assert.deepEqual(await listed(stranger), [posts.pub]);
    assert.deepEqual(await listed(friend), [posts.pub, posts.conn].sort());
    assert.deepEqual(await listed(blocked), []);
  });

  it('answers RecordEngagement on a post the member cannot see exactly as on a missing one, and as GetPost', async () => {
    const missing = 'p0000000000000000000000';
    const absent = await failure(like(stranger, missing), missing);
    assert.deepEqual(absent, { code: Code.NotFound, message: 'post "<id>" not found', reason: 'NOT_FOUND' });
    const hidden: Array<[string, string]> = [
      [stranger, posts.conn],
      [stranger, posts.priv],
      [friend, posts.priv],
      [blocked, posts.pub],
    ];
    for (const [viewer, postId] of hidden) {
      assert.deepEqual(await failure(like(viewer, postId), postId), absent, `${viewer} liking ${postId}`);
      const get = await failure(h.feed.getPost({ viewerId: viewer, postId }), postId);
      assert.deepEqual(get, absent, `${viewer} reading ${postId}`);
    }
    assert.ok((await like(friend, posts.conn)).engagementId, 'a visible post still takes engagement');
  });

  it('answers UpdatePost and DeletePost by another member NOT_FOUND if they cannot see the post, PERMISSION_DENIED if they can', async () => {
    const missing = 'p0000000000000000000001';
    const absent = await failure(h.client.deletePost({ authorId: stranger, postId: missing }), missing);
    assert.equal(absent.code, Code.NotFound);
    for (const postId of [posts.conn, posts.priv]) {
      const edit = h.client.updatePost({ authorId: stranger, postId, content: 'mine now', expectedVersion: 1 });
      assert.deepEqual(await failure(edit, postId), absent);
      assert.deepEqual(await failure(h.client.deletePost({ authorId: stranger, postId }), postId), absent);
    }
    const denied = await failure(h.client.deletePost({ authorId: friend, postId: posts.conn }), posts.conn);
    assert.deepEqual([denied.code, denied.reason], [Code.PermissionDenied, 'NOT_AUTHOR']);
    const edit = h.client.updatePost({ authorId: stranger, postId: posts.pub, content: 'x', expectedVersion: 1 });
    assert.equal((await failure(edit, posts.pub)).code, Code.PermissionDenied);
  });
});
