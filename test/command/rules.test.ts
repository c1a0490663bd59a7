import { strict as assert } from 'node:assert';
import { Code, ConnectError } from '@connectrpc/connect';
import { CommandService } from '../../gen/feedflow/v1/command_pb';
import { EngagementKind, PostType, Visibility } from '../../gen/feedflow/v1/common_pb';
import { ErrorInfoSchema, RetryInfoSchema } from '../../gen/google/rpc/error_details_pb';
import { startCommandHarness, type CommandHarness } from '../support/command';
import { codeOf, grpcClient } from '../support/grpc';

describe('CommandService rules', function () {
  let h: CommandHarness;
  before(async () => {
    h = await startCommandHarness();
  });
  after(async () => h?.close());

  const reasonOf = async (call: Promise<unknown>): Promise<string | undefined> => {
    try {
      await call;
    } catch (err) {
      return ConnectError.from(err).findDetails(ErrorInfoSchema)[0]?.reason;
    }
    throw new Error('expected failure');
  };

  describe('callers', () => {
    it('rejects a call without a token as UNAUTHENTICATED', async () => {
      const anon = grpcClient(CommandService, h.server.port);
      assert.equal(await codeOf(anon.registerUser({ email: 'a@b.co', displayName: 'A' })), Code.Unauthenticated);
    });
    it('rejects an unknown token as UNAUTHENTICATED', async () => {
      const c = grpcClient(CommandService, h.server.port, 'nope');
      assert.equal(await codeOf(c.registerUser({ email: 'a@b.co', displayName: 'A' })), Code.Unauthenticated);
    });
    it('rejects a queries-scope token as PERMISSION_DENIED', async () => {
      const c = grpcClient(CommandService, h.server.port, 'dev-queries');
      assert.equal(await codeOf(c.registerUser({ email: 'a@b.co', displayName: 'A' })), Code.PermissionDenied);
    });
  });

  describe('members', () => {
    it('answers ALREADY_EXISTS for a duplicate email, whatever its case', async () => {
      await h.client.registerUser({ email: 'Dup@Example.com', displayName: 'One' });
      const code = await codeOf(h.client.registerUser({ email: 'dup@example.COM', displayName: 'Two' }));
      assert.equal(code, Code.AlreadyExists);
    });
    it('rejects a malformed email and an empty display name', async () => {
      assert.equal(await codeOf(h.client.registerUser({ email: 'nope', displayName: 'X' })), Code.InvalidArgument);
      assert.equal(await codeOf(h.client.registerUser({ email: 'x@y.io', displayName: ' ' })), Code.InvalidArgument);
    });
    it('updates a profile at the expected version and aborts a stale one with the current version', async () => {
      const u = await h.register();
      const ok = await h.client.updateProfile({ userId: u, headline: 'Staff engineer', expectedVersion: 1 });
      assert.equal(ok.receipt?.version, 2);
      try {
        await h.client.updateProfile({ userId: u, headline: 'again', expectedVersion: 1 });
        assert.fail('expected ABORTED');
      } catch (err) {
        const e = ConnectError.from(err);
        assert.equal(e.code, Code.Aborted);
        assert.match(e.rawMessage, /version 2/);
      }
    });
    it('answers NOT_FOUND for an unknown member and INVALID_ARGUMENT for a malformed id', async () => {
      assert.equal(
        await codeOf(h.client.updateProfile({ userId: 'u0', headline: 'x', expectedVersion: 1 })),
        Code.NotFound,
      );
      assert.equal(
        await codeOf(h.client.updateProfile({ userId: 'bad id!', headline: 'x', expectedVersion: 1 })),
        Code.InvalidArgument,
      );
    });
  });

  describe('posts', () => {
    it('lets only the author update or delete a post', async () => {
      const [a, b] = [await h.register(), await h.register()];
      const p = await h.post(a);
      assert.equal(
        await codeOf(h.client.updatePost({ authorId: b, postId: p, content: 'mine now', expectedVersion: 1 })),
        Code.PermissionDenied,
      );
      assert.equal(await codeOf(h.client.deletePost({ authorId: b, postId: p })), Code.PermissionDenied);
      const upd = await h.client.updatePost({ authorId: a, postId: p, content: 'edited', expectedVersion: 1 });
      assert.equal(upd.receipt?.version, 2);
      assert.equal(
        await codeOf(h.client.updatePost({ authorId: a, postId: p, content: 'stale', expectedVersion: 1 })),
        Code.Aborted,
      );
      const del = await h.client.deletePost({ authorId: a, postId: p });
      assert.equal(del.receipt?.version, 3);
      assert.equal(await codeOf(h.client.deletePost({ authorId: a, postId: p })), Code.NotFound);
    });
    it('rejects unspecified visibility and post type', async () => {
      const a = await h.register();
      const base = { authorId: a, content: 'x', mediaUrls: [] };
      assert.equal(await codeOf(h.client.createPost({ ...base, postType: PostType.TEXT })), Code.InvalidArgument);
      assert.equal(await codeOf(h.client.createPost({ ...base, visibility: Visibility.PUBLIC })), Code.InvalidArgument);
    });
    it('answers NOT_FOUND for a post by an unknown author', async () => {
      const code = await codeOf(
        h.client.createPost({ authorId: 'u404', content: 'x', visibility: Visibility.PUBLIC, postType: PostType.TEXT }),
      );
      assert.equal(code, Code.NotFound);
    });
  });

  describe('moderation', () => {
    const cases: Array<[string, { content: string; mediaUrls?: string[] }, string]> = [
      ['empty content', { content: '   ' }, 'EMPTY_CONTENT'],
      ['content over 3,000 characters', { content: 'x'.repeat(3001) }, 'CONTENT_TOO_LONG'],
      ['a banned term', { content: 'Get SPAMCOIN now' }, 'BANNED_TERM'],
      [
        'too many links',
        { content: Array.from({ length: 6 }, (_, i) => `https://e.com/${i}`).join(' ') },
        'TOO_MANY_LINKS',
      ],
      ['a non-http media url', { content: 'pic', mediaUrls: ['ftp://x.com/a.png'] }, 'INVALID_MEDIA_URL'],
      [
        'more than 20 media urls',
        { content: 'pics', mediaUrls: Array.from({ length: 21 }, (_, i) => `https://m.com/${i}`) },
        'TOO_MANY_MEDIA',
      ],
    ];
    for (const [what, body, reason] of cases) {
      it(`rejects ${what} as INVALID_ARGUMENT with reason ${reason}`, async () => {
        const a = await h.register();
        const call = h.client.createPost({
          authorId: a,
          visibility: Visibility.PUBLIC,
          postType: PostType.TEXT,
          ...body,
        });
        assert.equal(await reasonOf(call), reason);
        assert.equal(
          await codeOf(
            h.client.createPost({ authorId: a, visibility: Visibility.PUBLIC, postType: PostType.TEXT, ...body }),
          ),
          Code.InvalidArgument,
        );
      });
    }
    it('accepts exactly 3,000 characters and 20 media urls', async () => {
      const a = await h.register();
      const mediaUrls = Array.from({ length: 20 }, (_, i) => `https://m.com/${i}.png`);
      const res = await h.client.createPost({
        authorId: a,
        content: 'y'.repeat(3000),
        visibility: Visibility.PUBLIC,
        postType: PostType.IMAGE,
        mediaUrls,
      });
      assert.ok(res.postId);
    });
  });

  describe('relationships', () => {
    it('refuses connecting to or following yourself', async () => {
      const a = await h.register();
      assert.equal(await codeOf(h.client.requestConnection({ requesterId: a, addresseeId: a })), Code.InvalidArgument);
      assert.equal(await codeOf(h.client.follow({ followerId: a, followeeId: a })), Code.InvalidArgument);
    });
    it('lets only the addressee respond, once', async () => {
      const [a, b, c] = [await h.register(), await h.register(), await h.register()];
      const req = await h.client.requestConnection({ requesterId: a, addresseeId: b });
      assert.equal(
        await codeOf(h.client.respondToConnection({ addresseeId: a, connectionId: req.connectionId, accept: true })),
        Code.PermissionDenied,
      );
      assert.equal(
        await codeOf(h.client.respondToConnection({ addresseeId: c, connectionId: req.connectionId, accept: true })),
        Code.PermissionDenied,
      );
      assert.equal(await codeOf(h.client.requestConnection({ requesterId: b, addresseeId: a })), Code.AlreadyExists);
      const ok = await h.client.respondToConnection({ addresseeId: b, connectionId: req.connectionId, accept: true });
      assert.equal(ok.receipt?.version, 2);
      assert.equal(
        await codeOf(h.client.respondToConnection({ addresseeId: b, connectionId: req.connectionId, accept: true })),
        Code.FailedPrecondition,
      );
      assert.equal(
        await codeOf(h.client.respondToConnection({ addresseeId: b, connectionId: 'c-zz-aa', accept: true })),
        Code.InvalidArgument,
      );
      assert.equal(
        await codeOf(h.client.respondToConnection({ addresseeId: b, connectionId: 'c-aa-zz', accept: true })),
        Code.NotFound,
      );
      await h.client.removeConnection({ userId: b, otherUserId: a });
      assert.equal(await codeOf(h.client.removeConnection({ userId: a, otherUserId: b })), Code.NotFound);
    });
    it('lets a declined request be asked again', async () => {
      const [a, b] = [await h.register(), await h.register()];
      const req = await h.client.requestConnection({ requesterId: a, addresseeId: b });
      await h.client.respondToConnection({ addresseeId: b, connectionId: req.connectionId, accept: false });
      const again = await h.client.requestConnection({ requesterId: a, addresseeId: b });
      assert.equal(again.receipt?.version, 3);
    });
    it('blocks end connections and follows both ways, and a blocked pair cannot connect or follow', async () => {
      const [a, b] = [await h.register(), await h.register()];
      const req = await h.client.requestConnection({ requesterId: a, addresseeId: b });
      await h.client.respondToConnection({ addresseeId: b, connectionId: req.connectionId, accept: true });
      await h.client.follow({ followerId: a, followeeId: b });
      await h.client.follow({ followerId: b, followeeId: a });
      await h.client.block({ blockerId: b, blockedId: a });
      const rels = await h.stores.db
        .collection('connections')
        .find({ _id: { $in: [req.connectionId, `f-${a}-${b}`, `f-${b}-${a}`] } as never })
        .toArray();
      assert.equal(rels.length, 3);
      assert.ok(
        rels.every((r) => r.active === false),
        'every edge between the pair is ended',
      );
      assert.equal(
        await codeOf(h.client.requestConnection({ requesterId: a, addresseeId: b })),
        Code.FailedPrecondition,
      );
      assert.equal(await codeOf(h.client.follow({ followerId: a, followeeId: b })), Code.FailedPrecondition);
      assert.equal(await codeOf(h.client.follow({ followerId: b, followeeId: a })), Code.FailedPrecondition);
      assert.equal(await codeOf(h.client.block({ blockerId: b, blockedId: a })), Code.AlreadyExists);
      await h.client.unblock({ blockerId: b, blockedId: a });
      assert.equal(await codeOf(h.client.unblock({ blockerId: b, blockedId: a })), Code.NotFound);
      const f = await h.client.follow({ followerId: a, followeeId: b });
      assert.equal(f.relationshipId, `f-${a}-${b}`);
    });
    it('answers ALREADY_EXISTS for a second follow and NOT_FOUND for unfollowing a stranger', async () => {
      const [a, b] = [await h.register(), await h.register()];
      await h.client.follow({ followerId: a, followeeId: b });
      assert.equal(await codeOf(h.client.follow({ followerId: a, followeeId: b })), Code.AlreadyExists);
      await h.client.unfollow({ followerId: a, followeeId: b });
      assert.equal(await codeOf(h.client.unfollow({ followerId: a, followeeId: b })), Code.NotFound);
      assert.equal(await codeOf(h.client.follow({ followerId: a, followeeId: 'u404' })), Code.NotFound);
    });
  });

  describe('engagement', () => {
    it('allows engagement only on posts the member can see', async () => {
      const [author, friend, stranger] = [await h.register(), await h.register(), await h.register()];
      const req = await h.client.requestConnection({ requesterId: author, addresseeId: friend });
      await h.client.respondToConnection({ addresseeId: friend, connectionId: req.connectionId, accept: true });
      const pub = await h.post(author, { visibility: Visibility.PUBLIC });
      const conn = await h.post(author, { visibility: Visibility.CONNECTIONS });
      const priv = await h.post(author, { visibility: Visibility.PRIVATE });
      const like = (userId: string, postId: string) =>
        h.client.recordEngagement({ userId, postId, kind: EngagementKind.LIKE });
      assert.ok((await like(stranger, pub)).engagementId);
      assert.ok((await like(friend, conn)).engagementId);
      // A post the member cannot see answers as if it did not exist (test/query/visibility.test.ts compares).
      assert.equal(await codeOf(like(stranger, conn)), Code.NotFound);
      assert.equal(await codeOf(like(friend, priv)), Code.NotFound);
      assert.ok((await like(author, priv)).engagementId);
      assert.equal(await codeOf(like(friend, conn)), Code.AlreadyExists);
      await h.client.block({ blockerId: author, blockedId: stranger });
      assert.equal(
        await codeOf(h.client.recordEngagement({ userId: stranger, postId: pub, kind: EngagementKind.VIEW })),
        Code.NotFound,
      );
      assert.equal(
        await codeOf(h.client.recordEngagement({ userId: friend, postId: pub, kind: EngagementKind.COMMENT })),
        Code.InvalidArgument,
      );
      const c = await h.client.recordEngagement({
        userId: friend,
        postId: pub,
        kind: EngagementKind.COMMENT,
        comment: 'Nice',
      });
      assert.ok(c.engagementId);
      assert.equal(
        await codeOf(h.client.recordEngagement({ userId: friend, postId: 'p404', kind: EngagementKind.VIEW })),
        Code.NotFound,
      );
      assert.equal(
        await codeOf(h.client.recordEngagement({ userId: friend, postId: pub, kind: EngagementKind.UNSPECIFIED })),
        Code.InvalidArgument,
      );
    });
  });

  describe('idempotency', () => {
    it('replays a retried Follow, Block or RespondToConnection instead of judging it again', async () => {
      const [a, b, c] = [await h.register(), await h.register(), await h.register()];
      const follow = { followerId: a, followeeId: b, requestId: 'follow-1' };
      const first = await h.client.follow(follow);
      const again = await h.client.follow(follow);
      assert.equal(again.receipt?.replayed, true);
      assert.equal(again.receipt?.eventId, first.receipt?.eventId);
      assert.equal(await codeOf(h.client.follow({ ...follow, followeeId: c })), Code.AlreadyExists);
      const req = await h.client.requestConnection({ requesterId: a, addresseeId: c });
      const answer = { addresseeId: c, connectionId: req.connectionId, accept: true, requestId: 'answer-1' };
      const ok = await h.client.respondToConnection(answer);
      assert.equal((await h.client.respondToConnection(answer)).receipt?.eventId, ok.receipt?.eventId);
      const events = await h.stores.db.collection('events').countDocuments({ aggregateId: req.connectionId });
      assert.equal(events, 2, 'requested and accepted, nothing more');
    });

    it('replays the original answer for a repeated request id and refuses a changed payload', async () => {
      const a = await h.register();
      const req = {
        authorId: a,
        content: 'once',
        visibility: Visibility.PUBLIC,
        postType: PostType.TEXT,
        requestId: 'req-1',
      };
      const first = await h.client.createPost(req);
      const again = await h.client.createPost(req);
      assert.equal(again.postId, first.postId);
      assert.equal(again.receipt?.eventId, first.receipt?.eventId);
      assert.equal(again.receipt?.replayed, true);
      assert.equal(await codeOf(h.client.createPost({ ...req, content: 'twice' })), Code.AlreadyExists);
      const events = await h.stores.db.collection('events').countDocuments({ aggregateId: first.postId });
      assert.equal(events, 1);
    });
  });
});

describe('CommandService rate limits', function () {
  let h: CommandHarness;
  before(async () => {
    h = await startCommandHarness({ RATE_LIMITS_ENABLED: 'true', RATE_LIMIT_CREATE_POST: '30/60:3' });
  });
  after(async () => h?.close());

  it('answers RESOURCE_EXHAUSTED past the burst, with the retry delay in the details', async () => {
    const a = await h.register();
    for (let i = 0; i < 3; i++) await h.post(a);
    try {
      await h.post(a);
      assert.fail('expected RESOURCE_EXHAUSTED');
    } catch (err) {
      const e = ConnectError.from(err);
      assert.equal(e.code, Code.ResourceExhausted);
      const retry = e.findDetails(RetryInfoSchema)[0];
      assert.ok(retry?.retryDelay, 'RetryInfo detail present');
      const ms = Number(retry.retryDelay.seconds) * 1000 + retry.retryDelay.nanos / 1e6;
      assert.ok(ms > 0 && ms <= 6000, `retry delay ${ms} ms within the window`);
    }
    // Another member is not affected.
    const b = await h.register();
    assert.ok(await h.post(b));
  });
});
