import { strict as assert } from 'node:assert';
import { Code, ConnectError } from '@connectrpc/connect';
import { FeedService, FeedView } from '../../gen/feedflow/v1/feed_pb';
import { createGraph } from '../../stores/graph';
import { codeOf, grpcClient } from '../support/grpc';
import { startQueryHarness, type QueryHarness } from '../support/query';

/** GetProfile and the profile versions the API hands out, over real gRPC to real command and query servers. */
describe('FeedService.GetProfile and profile versions', function () {
  this.timeout(120_000);
  let h: QueryHarness;
  before(async () => {
    h = await startQueryHarness();
  });
  after(async () => h?.close());

  it('answers NOT_FOUND for an unknown member, INVALID_ARGUMENT for a bad id, and checks the scope', async () => {
    assert.equal(await codeOf(h.feed.getProfile({ userId: 'u404' })), Code.NotFound);
    assert.equal(await codeOf(h.feed.getProfile({ userId: '' })), Code.InvalidArgument);
    assert.equal(await codeOf(h.feed.getProfile({ userId: 'no such/member' })), Code.InvalidArgument);
    const u = await h.register();
    assert.equal(await codeOf(grpcClient(FeedService, h.query.port).getProfile({ userId: u })), Code.Unauthenticated);
    assert.equal(
      await codeOf(grpcClient(FeedService, h.query.port, 'dev-commands').getProfile({ userId: u })),
      Code.PermissionDenied,
    );
  });

  it('returns the profile with the version UpdateProfile wants, and round-trips an update with it', async () => {
    const reg = await h.client.registerUser({
      email: `ada-${Date.now()}@example.com`,
      displayName: 'Ada',
      headline: 'Analyst',
      profileImageUrl: 'https://img.example.com/ada.png',
    });
    const first = (await h.feed.getProfile({ userId: reg.userId })).profile!;
    assert.deepEqual(
      [first.userId, first.displayName, first.headline, first.profileImageUrl, first.version],
      [reg.userId, 'Ada', 'Analyst', 'https://img.example.com/ada.png', reg.receipt!.version],
    );
    const upd = await h.client.updateProfile({
      userId: reg.userId,
      headline: 'Engine designer',
      expectedVersion: first.version,
    });
    // The read is of the write model, so it is current as soon as the command is accepted.
    const second = (await h.feed.getProfile({ userId: reg.userId })).profile!;
    assert.equal(second.headline, 'Engine designer');
    assert.equal(second.version, upd.receipt!.version);
    assert.equal(second.version, first.version + 1);
    const again = await h.client.updateProfile({
      userId: reg.userId,
      displayName: 'Ada L.',
      expectedVersion: second.version,
    });
    assert.equal(again.receipt!.version, second.version + 1);

    try {
      await h.client.updateProfile({ userId: reg.userId, headline: 'stale', expectedVersion: first.version });
      assert.fail('expected ABORTED');
    } catch (err) {
      const e = ConnectError.from(err);
      assert.equal(e.code, Code.Aborted);
      assert.match(e.rawMessage, new RegExp(`version ${second.version + 1}`));
    }
    // A profile is never overwritten blind: 0 is refused, as the proto says.
    assert.equal(
      await codeOf(h.client.updateProfile({ userId: reg.userId, headline: 'blind', expectedVersion: 0 })),
      Code.InvalidArgument,
    );
  });

  it('returns the current version in Actor from GetPost, ListPostsByAuthor and GetNetwork, and the snapshot’s in GetFeed', async () => {
    const [author, viewer] = [await h.register('Author'), await h.register('Viewer')];
    await h.client.updateProfile({ userId: author, headline: 'v2', expectedVersion: 1 });
    await h.client.updateProfile({ userId: author, headline: 'v3', expectedVersion: 2 });
    const postId = await h.post(author);
    const post = (await h.feed.getPost({ viewerId: viewer, postId })).post!;
    assert.equal(post.author!.version, 3);
    assert.equal(post.author!.headline, 'v3');
    const listed = await h.feed.listPostsByAuthor({ viewerId: viewer, authorId: author });
    assert.deepEqual(
      listed.posts.map((p) => p.author!.version),
      [3],
    );
    await createGraph(h.stores.graph, h.stores.config.GRAPH_DIALECT).syncEdges([
      { kind: 'FOLLOWS', from: viewer, to: author, active: true, version: 1 },
    ]);
    const network = await h.feed.getNetwork({ userId: viewer, degree: 1 });
    assert.deepEqual(
      network.members.map((m) => [m.member!.userId, m.member!.version]),
      [[author, 3]],
    );
    // A pushed item carries the profile snapshot it was projected with, version included.
    await h.push(viewer, postId, { actor: { id: author, name: 'Author', headline: 'v2', imageUrl: '', version: 2 } });
    const feed = await h.feed.getFeed({ viewerId: viewer, view: FeedView.V1_BASIC });
    assert.deepEqual(
      feed.items.map((i) => [i.post!.postId, i.post!.author!.headline, i.post!.author!.version]),
      [[postId, 'v2', 2]],
    );
  });
});
