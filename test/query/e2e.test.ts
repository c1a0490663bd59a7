import { strict as assert } from 'node:assert';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Visibility } from '../../gen/feedflow/v1/common_pb';
import { FeedReason, FeedView } from '../../gen/feedflow/v1/feed_pb';
import { temporalEnv } from '../support/env';
import { startQueryHarness, type QueryHarness } from '../support/query';
import { runProjectionWorkers, type RunningWorkers } from '../support/workers';

/** Commands in, projections by real workers, feeds out: everything over gRPC on real servers. */
describe('feeds end to end', function () {
  this.timeout(180_000);
  let h: QueryHarness;
  let env: TestWorkflowEnvironment;
  let workers: RunningWorkers;
  before(async () => {
    // Correctness, not speed: a loaded machine may take seconds to project, so the read waits up to 20 s.
    h = await startQueryHarness({ CONSISTENCY_MAX_WAIT_MS: '20000' });
    env = await temporalEnv(h.stores.config);
    workers = await runProjectionWorkers(env.nativeConnection, h.stores, h.prefix);
  });
  after(async () => {
    await workers?.stop();
    await h?.close();
    await env?.teardown();
  });

  const feedOf = async (viewerId: string, token = '') => {
    const res = await h.feed.getFeed({
      viewerId,
      pageSize: 50,
      view: FeedView.V3_PERSONALIZED,
      minConsistencyToken: token,
    });
    assert.equal(res.stale, false, `${viewerId}'s feed caught up with ${token}`);
    return res.items.map((i) => ({ post: i.post!.postId, reason: i.reason }));
  };

  it('serves each member exactly the posts their relationships admit, and reads its own writes', async () => {
    const [ann, bob, cat, dan, eve] = await Promise.all(['Ann', 'Bob', 'Cat', 'Dan', 'Eve'].map((n) => h.register(n)));
    const conn = await h.client.requestConnection({ requesterId: ann, addresseeId: bob });
    const acc = await h.client.respondToConnection({ addresseeId: bob, connectionId: conn.connectionId, accept: true });
    const fol = await h.client.follow({ followerId: cat, followeeId: ann });
    await h.client.follow({ followerId: dan, followeeId: ann });
    const blk = await h.client.block({ blockerId: ann, blockedId: dan });
    // Let the relationship projections land first, so the posts below arrive by fan-out, not by backfill.
    await feedOf(bob, acc.receipt!.consistencyToken);
    await feedOf(cat, fol.receipt!.consistencyToken);
    await feedOf(dan, blk.receipt!.consistencyToken);

    const post = async (vis: Visibility, content: string) =>
      h.client.createPost({ authorId: ann, content, visibility: vis, postType: 1 });
    const pub = await post(Visibility.PUBLIC, 'public news');
    const con = await post(Visibility.CONNECTIONS, 'for connections');
    const prv = await post(Visibility.PRIVATE, 'note to self');
    const t = (r: { receipt?: { consistencyToken: string } }) => r.receipt!.consistencyToken;
    // A token promises its own event only: wait for each post's projection for each member first.
    for (const viewer of [ann, bob, cat, dan, eve]) for (const p of [pub, con]) await feedOf(viewer, t(p));

    assert.deepEqual(await feedOf(ann, t(prv)), [
      { post: prv.postId, reason: FeedReason.OWN_POST },
      { post: con.postId, reason: FeedReason.OWN_POST },
      { post: pub.postId, reason: FeedReason.OWN_POST },
    ]);
    assert.deepEqual(await feedOf(bob, t(prv)), [
      { post: con.postId, reason: FeedReason.CONNECTION },
      { post: pub.postId, reason: FeedReason.CONNECTION },
    ]);
    assert.deepEqual(await feedOf(cat, t(prv)), [{ post: pub.postId, reason: FeedReason.FOLLOW }]);
    assert.deepEqual(await feedOf(dan, t(prv)), [], 'a blocked follower gets nothing');
    assert.deepEqual(await feedOf(eve, t(prv)), [], 'a stranger gets nothing');

    // Read-your-writes: Bob's new post is in Ann's feed on the very next call.
    const bobs = await h.client.createPost({
      authorId: bob,
      content: 'hi Ann',
      visibility: Visibility.CONNECTIONS,
      postType: 1,
    });
    const annFeed = await feedOf(ann, t(bobs));
    assert.deepEqual(annFeed[0], { post: bobs.postId, reason: FeedReason.CONNECTION });

    // A delete is gone from every feed, cached or not.
    await feedOf(cat);
    const del = await h.client.deletePost({ authorId: ann, postId: pub.postId });
    assert.deepEqual(await feedOf(cat), []);
    assert.deepEqual(await feedOf(cat, t(del)), []);
  });
});
