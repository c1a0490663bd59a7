import { strict as assert } from 'node:assert';
import { Code } from '@connectrpc/connect';
import { Visibility } from '../../gen/feedflow/v1/common_pb';
import { FeedReason, FeedService, FeedView } from '../../gen/feedflow/v1/feed_pb';
import { invalidateFeeds } from '../../stores/feed-cache';
import { createGraph } from '../../stores/graph';
import { writeModel } from '../../stores/write-model';
import { codeOf, grpcClient } from '../support/grpc';
import { startQueryHarness, type QueryHarness } from '../support/query';
import { waitFor } from '../support/wait';

describe('FeedService', function () {
  this.timeout(120_000);
  let h: QueryHarness;
  before(async () => {
    h = await startQueryHarness({ FEED_CAP: '20', FEED_WINDOW_SIZE: '15' });
  });
  after(async () => h?.close());

  const connect = async (a: string, b: string): Promise<void> => {
    const r = await h.client.requestConnection({ requesterId: a, addresseeId: b });
    await h.client.respondToConnection({ addresseeId: b, connectionId: r.connectionId, accept: true });
  };
  /** A post whose creation time is set, so orderings are exact. */
  const postAt = async (author: string, at: number, vis = Visibility.PUBLIC): Promise<string> => {
    const id = await h.post(author, { visibility: vis, content: `post by ${author} at ${at}` });
    await writeModel(h.stores.db).posts.updateOne({ _id: id }, { $set: { createdAt: new Date(at) } });
    return id;
  };
  /** Polls until the first page satisfies `done`: invalidations reach the cache on the next tail tick. */
  const eventually = <T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> =>
    waitFor(
      async () => {
        const v = await read();
        return done(v) ? v : undefined;
      },
      { message: 'the invalidated first page', timeoutMs: 10_000 },
    );
  const allPages = async (viewerId: string, pageSize: number, between?: (page: number) => Promise<void>) => {
    const ids: string[] = [];
    let cursor = '';
    for (let page = 0; page < 100; page++) {
      const res = await h.feed.getFeed({ viewerId, pageSize, cursor });
      ids.push(...res.items.map((i) => i.post!.postId));
      if (!res.nextCursor) return ids;
      cursor = res.nextCursor;
      await between?.(page);
    }
    throw new Error('too many pages');
  };

  describe('bad input', () => {
    let viewer: string;
    before(async () => {
      viewer = await h.register('Viewer');
    });
    it('answers INVALID_ARGUMENT for a page size over 100', async () => {
      assert.equal(await codeOf(h.feed.getFeed({ viewerId: viewer, pageSize: 101 })), Code.InvalidArgument);
      assert.equal((await h.feed.getFeed({ viewerId: viewer, pageSize: 100 })).items.length, 0);
    });
    it('answers INVALID_ARGUMENT for a garbage, tampered or foreign cursor', async () => {
      assert.equal(await codeOf(h.feed.getFeed({ viewerId: viewer, cursor: 'garbage' })), Code.InvalidArgument);
      const other = await h.register('Other');
      const author = await h.register('Author');
      await connect(author, other);
      for (let i = 0; i < 3; i++) await h.push(other, await postAt(author, Date.now() - i * 1000));
      const page = await h.feed.getFeed({ viewerId: other, pageSize: 1 });
      assert.ok(page.nextCursor);
      const [body, sig] = page.nextCursor.split('.');
      const tampered = Buffer.from(body, 'base64url')
        .toString()
        .replace(/"p":\d+/, '"p":0');
      const forged = `${Buffer.from(tampered).toString('base64url')}.${sig}`;
      assert.equal(await codeOf(h.feed.getFeed({ viewerId: other, cursor: forged })), Code.InvalidArgument);
      assert.equal(await codeOf(h.feed.getFeed({ viewerId: viewer, cursor: page.nextCursor })), Code.InvalidArgument);
    });
    it('answers NOT_FOUND for an unknown viewer and INVALID_ARGUMENT for a malformed one', async () => {
      assert.equal(await codeOf(h.feed.getFeed({ viewerId: 'u404' })), Code.NotFound);
      assert.equal(await codeOf(h.feed.getFeed({ viewerId: 'no such/viewer' })), Code.InvalidArgument);
      assert.equal(await codeOf(h.feed.getFeed({ viewerId: '' })), Code.InvalidArgument);
    });
    it('checks the caller scope and the consistency token format', async () => {
      assert.equal(
        await codeOf(grpcClient(FeedService, h.query.port).getFeed({ viewerId: viewer })),
        Code.Unauthenticated,
      );
      assert.equal(
        await codeOf(grpcClient(FeedService, h.query.port, 'dev-commands').getFeed({ viewerId: viewer })),
        Code.PermissionDenied,
      );
      assert.equal(
        await codeOf(h.feed.getFeed({ viewerId: viewer, minConsistencyToken: 'nope' })),
        Code.InvalidArgument,
      );
    });
    it('answers INVALID_ARGUMENT for a network degree other than 1 or 2', async () => {
      assert.equal(await codeOf(h.feed.getNetwork({ userId: viewer, degree: 3 })), Code.InvalidArgument);
    });
  });

  describe('ordering', () => {
    it('orders by score × time decay, ties broken by post id, and keeps author runs to two', async () => {
      const [v, a, b] = [await h.register('V'), await h.register('A'), await h.register('B')];
      const now = Date.now();
      const aPosts = [];
      for (let i = 0; i < 4; i++) aPosts.push(await postAt(a, now - i * 60_000));
      const bOld = await postAt(b, now - 3_600_000);
      for (const p of aPosts) await h.push(v, p);
      await h.push(v, bOld);
      const res = await h.feed.getFeed({ viewerId: v, pageSize: 10, view: FeedView.V3_PERSONALIZED });
      const authors = res.items.map((i) => i.post!.author!.userId);
      // Recency alone would give A A A A B; diversity pulls B forward after two A's.
      assert.deepEqual(authors, [a, a, b, a, a]);
      const boosted = await postAt(b, now - 7_200_000);
      await h.push(v, boosted, { score: 50 });
      await invalidateFeeds(h.stores.db, [v]);
      const again = await eventually(
        () => h.feed.getFeed({ viewerId: v, pageSize: 10, view: FeedView.V3_PERSONALIZED }),
        (r) => r.items.length === 6,
      );
      assert.equal(again.items[0].post!.postId, boosted, 'a high score outranks recency');
      assert.ok(again.items[0].rank > again.items[1].rank);
    });

    it('adds engagement and a summary in V2, and score, model and reason in V3', async () => {
      const [v, a] = [await h.register('V'), await h.register('A')];
      const p = await postAt(a, Date.now());
      await h.push(v, p, { reason: 'follow' });
      await h.stores.db
        .collection('post_summaries')
        .insertOne({ _id: p as never, engagement: { likes: 3, comments: 1, shares: 0, views: 0 } });
      const v1 = await h.feed.getFeed({ viewerId: v, view: FeedView.V1_BASIC });
      assert.equal(v1.items[0].post!.engagement, undefined);
      assert.equal(v1.summary, undefined);
      const v2 = await h.feed.getFeed({ viewerId: v, view: FeedView.V2_ENGAGEMENT });
      assert.equal(v2.items[0].post!.engagement!.likes, 3);
      assert.equal(v2.summary!.totalLikes, 3n);
      const v3 = await h.feed.getFeed({ viewerId: v, view: FeedView.V3_PERSONALIZED });
      assert.equal(v3.items[0].reason, FeedReason.FOLLOW);
      assert.equal(v3.items[0].modelVersion, 'neutral');
      assert.equal(v3.items[0].score, 1);
    });

    it('adds recent public posts from the second degree, with their reason, below pushed items of equal age', async () => {
      const [me, friend, fof, other] = [
        await h.register('Me'),
        await h.register('Friend'),
        await h.register('Fof'),
        await h.register('Other'),
      ];
      await createGraph(h.stores.graph, h.stores.config.GRAPH_DIALECT).syncEdges([
        { kind: 'CONNECTED', from: me, to: friend, active: true, version: 2 },
        { kind: 'CONNECTED', from: friend, to: fof, active: true, version: 2 },
      ]);
      const now = Date.now();
      const shared = await postAt(fof, now - 60_000);
      const hidden = await postAt(fof, now - 60_000, Visibility.CONNECTIONS);
      const stranger = await postAt(other, now - 60_000);
      const pushed = await postAt(friend, now - 60_000);
      await h.push(me, pushed, { reason: 'connection', score: 0.2 });
      const page = await h.feed.getFeed({ viewerId: me, view: FeedView.V3_PERSONALIZED });
      const byId = new Map(page.items.map((i) => [i.post!.postId, i]));
      assert.equal(byId.get(shared)?.reason, FeedReason.SECOND_DEGREE);
      assert.ok(!byId.has(hidden), 'a connections-only post never reaches the second degree');
      assert.ok(!byId.has(stranger), 'nor does a post from outside the network');
      assert.deepEqual(
        page.items.map((i) => i.post!.postId),
        [pushed, shared],
        'the second degree ranks on its lower provisional score',
      );
      assert.ok(byId.get(shared)!.score > 0 && byId.get(shared)!.score < 0.2);
    });
  });

  describe('safety net', () => {
    it('never serves a deleted post, a blocked author or a post whose visibility no longer admits the viewer', async () => {
      const [v, friend, blocker, ex] = [await h.register(), await h.register(), await h.register(), await h.register()];
      await connect(friend, v);
      await connect(ex, v);
      const now = Date.now();
      const keep = await postAt(friend, now);
      const deleted = await postAt(friend, now - 1000);
      const byBlocker = await postAt(blocker, now - 2000);
      const exConnections = await postAt(ex, now - 3000, Visibility.CONNECTIONS);
      const exPublic = await postAt(ex, now - 4000, Visibility.PUBLIC);
      for (const p of [keep, deleted, byBlocker, exConnections, exPublic]) await h.push(v, p);
      // Change the write model behind the read model's back: the projection has not caught up.
      await h.client.deletePost({ authorId: friend, postId: deleted });
      await h.client.block({ blockerId: blocker, blockedId: v });
      await h.client.removeConnection({ userId: ex, otherUserId: v });
      await h.stores.db
        .collection('feed_items')
        .updateOne({ _id: `${v}:${deleted}` as never }, { $set: { version: 1 } });
      const served = await allPages(v, 2);
      assert.deepEqual(served, [keep, exPublic]);
      assert.equal(await codeOf(h.feed.getPost({ viewerId: v, postId: exConnections })), Code.NotFound);
      assert.equal(await codeOf(h.feed.getPost({ viewerId: v, postId: deleted })), Code.NotFound);
      assert.equal(await codeOf(h.feed.getPost({ viewerId: v, postId: byBlocker })), Code.NotFound);
      assert.equal((await h.feed.getPost({ viewerId: v, postId: exPublic })).post!.postId, exPublic);
    });
  });

  describe('pagination', () => {
    it('never repeats or skips an item while new posts arrive between pages', async () => {
      const [v, a, b] = [await h.register(), await h.register(), await h.register()];
      const now = Date.now() - 60_000;
      const expected: string[] = [];
      for (let i = 0; i < 18; i++) {
        const p = await postAt(i % 3 ? a : b, now - i * 10_000);
        await h.push(v, p);
        expected.push(p);
      }
      const before = new Set(expected);
      const served = await allPages(v, 4, async (page) => {
        // New items land at the top of the feed, and the cache is invalidated, between every page.
        const fresh = await postAt(a, Date.now() + page);
        await h.push(v, fresh);
        await invalidateFeeds(h.stores.db, [v]);
      });
      assert.equal(new Set(served).size, served.length, 'no repeats');
      assert.deepEqual(new Set(served), before, 'exactly the snapshot, no gaps');
    });

    it('keeps scrolling past the capped pushed feed into the post store', async () => {
      const [v, a] = [await h.register(), await h.register()];
      await connect(a, v);
      const now = Date.now() - 60_000;
      const all: string[] = [];
      for (let i = 0; i < 32; i++) all.push(await postAt(a, now - i * 1000));
      // The pipeline keeps only the newest FEED_CAP (20) items pushed; the rest were trimmed.
      for (const p of all.slice(0, 20)) await h.push(v, p);
      const served = await allPages(v, 7);
      assert.equal(served.length, 32);
      assert.deepEqual(new Set(served), new Set(all));
      assert.deepEqual(served.slice(15), all.slice(15), 'past the ranked window the order is recency');
    });
  });

  describe('cache', () => {
    it('serves the cached first page until a projection invalidates it', async () => {
      const [v, a] = [await h.register(), await h.register()];
      const p1 = await postAt(a, Date.now() - 5000);
      await h.push(v, p1);
      const first = await h.feed.getFeed({ viewerId: v });
      assert.deepEqual(
        first.items.map((i) => i.post!.postId),
        [p1],
      );
      const hits = h.query.cache.counters.l1Hits;
      const p2 = await postAt(a, Date.now());
      await h.push(v, p2);
      const cached = await h.feed.getFeed({ viewerId: v });
      assert.deepEqual(
        cached.items.map((i) => i.post!.postId),
        [p1],
        'the session is cached',
      );
      assert.equal(h.query.cache.counters.l1Hits, hits + 1);
      await invalidateFeeds(h.stores.db, [v]);
      const fresh = await eventually(
        () => h.feed.getFeed({ viewerId: v }),
        (r) => r.items.length === 2,
      );
      assert.deepEqual(
        fresh.items.map((i) => i.post!.postId),
        [p2, p1],
      );
    });

    it('answers 16 parallel first pages of a new viewer alike, none INTERNAL', async () => {
      const a = await h.register();
      const posts = [];
      for (let i = 0; i < 3; i++) posts.unshift(await postAt(a, Date.now() - 10_000 + i));
      for (let round = 0; round < 3; round++) {
        const v = await h.register();
        for (const p of posts) await h.push(v, p);
        const pages = await Promise.allSettled(Array.from({ length: 16 }, () => h.feed.getFeed({ viewerId: v })));
        const codes = pages.map((r) => (r.status === 'fulfilled' ? 'OK' : Code[(r.reason as { code: Code }).code]));
        assert.deepEqual(codes, Array<string>(16).fill('OK'), `round ${round}`);
        for (const r of pages) {
          assert.deepEqual(
            (r as PromiseFulfilledResult<{ items: Array<{ post?: { postId: string } }> }>).value.items.map(
              (i) => i.post!.postId,
            ),
            posts,
          );
        }
      }
    });

    it('drops a deleted post from a cached page inside the TTL', async () => {
      const [v, a] = [await h.register(), await h.register()];
      await connect(a, v);
      const p = await postAt(a, Date.now());
      await h.push(v, p);
      assert.equal((await h.feed.getFeed({ viewerId: v })).items.length, 1);
      await h.client.deletePost({ authorId: a, postId: p });
      assert.equal((await h.feed.getFeed({ viewerId: v })).items.length, 0);
    });
  });

  describe('network', () => {
    it('answers first- and second-degree members with the seed weights', async () => {
      const [me, friend, fan, idol, fof] = [
        await h.register(),
        await h.register(),
        await h.register(),
        await h.register(),
        await h.register(),
      ];
      const graph = createGraph(h.stores.graph, h.stores.config.GRAPH_DIALECT);
      await graph.syncEdges([
        { kind: 'CONNECTED', from: me, to: friend, active: true, version: 2 },
        { kind: 'FOLLOWS', from: fan, to: me, active: true, version: 1 },
        { kind: 'FOLLOWS', from: me, to: idol, active: true, version: 1 },
        { kind: 'CONNECTED', from: friend, to: fof, active: true, version: 2 },
      ]);
      const first = await h.feed.getNetwork({ userId: me, degree: 1 });
      const weights = Object.fromEntries(first.members.map((m) => [m.member!.userId, m.weight]));
      assert.deepEqual(weights, { [friend]: 1, [idol]: 0.7, [fan]: 0.5 });
      const second = await h.feed.getNetwork({ userId: me, degree: 2 });
      const fofRow = second.members.find((m) => m.member!.userId === fof);
      assert.equal(fofRow?.degree, 2);
      assert.equal(fofRow?.mutualConnections, 1);
      const paged = await h.feed.getNetwork({ userId: me, degree: 2, pageSize: 2 });
      const rest = await h.feed.getNetwork({ userId: me, degree: 2, pageSize: 2, cursor: paged.nextCursor });
      assert.equal(paged.members.length + rest.members.length, second.members.length);
    });
  });

  describe('profile pages', () => {
    it('lists an author’s posts the viewer may see, newest first, across pages', async () => {
      const [v, a, stranger] = [await h.register(), await h.register(), await h.register()];
      await connect(a, v);
      const now = Date.now();
      const pub = [await postAt(a, now), await postAt(a, now - 2000)];
      const conn = await postAt(a, now - 1000, Visibility.CONNECTIONS);
      await postAt(a, now - 3000, Visibility.PRIVATE);
      const page1 = await h.feed.listPostsByAuthor({ viewerId: v, authorId: a, pageSize: 2 });
      const page2 = await h.feed.listPostsByAuthor({ viewerId: v, authorId: a, pageSize: 2, cursor: page1.nextCursor });
      assert.deepEqual(
        [...page1.posts, ...page2.posts].map((p) => p.postId),
        [pub[0], conn, pub[1]],
      );
      const asStranger = await h.feed.listPostsByAuthor({ viewerId: stranger, authorId: a });
      assert.deepEqual(
        asStranger.posts.map((p) => p.postId),
        pub,
      );
      const own = await h.feed.listPostsByAuthor({ viewerId: a, authorId: a });
      assert.equal(own.posts.length, 4);
    });
  });
});
