import { strict as assert } from 'node:assert';
import { Code } from '@connectrpc/connect';
import { FeedReason, FeedView } from '../../gen/feedflow/v1/feed_pb';
import { createGraph } from '../../stores/graph';
import { writeModel } from '../../stores/write-model';
import { codeOf } from '../support/grpc';
import { startQueryHarness, type QueryHarness } from '../support/query';

/**
 * GetFeed without discovery: the same feed, in the same order, minus its second-degree items, across the ranked
 * window and the recency tail after it. Real gRPC to real servers; the read model and graph are shaped by hand.
 */
describe('GetFeed no_discovery', function () {
  this.timeout(120_000);
  let h: QueryHarness;
  let me: string;
  const ids: Record<string, string[]> = { pushed: [], pulled: [], discovery: [] };
  before(async () => {
    // A window of 4 so the feed continues into the tail, where discovery is merged again.
    h = await startQueryHarness({ FEED_WINDOW_SIZE: '4' });
    const [friend, idol, fof] = [await h.register('Friend'), await h.register('Idol'), await h.register('Fof')];
    me = await h.register('Me');
    const req = await h.client.requestConnection({ requesterId: me, addresseeId: friend });
    await h.client.respondToConnection({ addresseeId: friend, connectionId: req.connectionId, accept: true });
    await h.client.follow({ followerId: me, followeeId: idol });
    // Idol is a popular (pull) author: followers get their posts at read time. Fof is two steps away.
    await h.stores.db.collection('pull_authors').insertOne({ _id: idol as never, followers: 20_000 });
    await createGraph(h.stores.graph, h.stores.config.GRAPH_DIALECT).syncEdges([
      { kind: 'CONNECTED', from: me, to: friend, active: true, version: 2 },
      { kind: 'FOLLOWS', from: me, to: idol, active: true, version: 1 },
      { kind: 'CONNECTED', from: friend, to: fof, active: true, version: 2 },
    ]);
    const now = Date.now() - 60_000;
    const postAt = async (author: string, minutesAgo: number): Promise<string> => {
      const id = await h.post(author, { content: `by ${author}, ${minutesAgo} min ago` });
      await writeModel(h.stores.db).posts.updateOne(
        { _id: id },
        { $set: { createdAt: new Date(now - minutesAgo * 60_000) } },
      );
      return id;
    };
    // Newest first: three pushed items and the first pulled one fill the window; the rest is older.
    for (const m of [1, 2, 3]) {
      const id = await postAt(friend, m);
      await h.push(me, id);
      ids.pushed.push(id);
    }
    ids.pulled.push(await postAt(idol, 4), await postAt(idol, 6));
    ids.discovery.push(await postAt(fof, 5), await postAt(fof, 7));
  });
  after(async () => h?.close());

  const scroll = async (req: { noDiscovery?: boolean }, pageSize: number) => {
    const items: Array<{ id: string; reason: FeedReason }> = [];
    let cursor = '';
    for (let page = 0; page < 50; page++) {
      const res = await h.feed.getFeed({ viewerId: me, pageSize, cursor, view: FeedView.V3_PERSONALIZED, ...req });
      items.push(...res.items.map((i) => ({ id: i.post!.postId, reason: i.reason })));
      if (!res.nextCursor) return items;
      cursor = res.nextCursor;
    }
    throw new Error('too many pages');
  };

  it('removes the SECOND_DEGREE items and nothing else, in the window and in the tail', async () => {
    const all = await scroll({}, 2);
    const byReason = (r: FeedReason) => all.filter((i) => i.reason === r).map((i) => i.id);
    assert.deepEqual(
      byReason(FeedReason.SECOND_DEGREE).sort(),
      [...ids.discovery].sort(),
      'discovery is on by default',
    );
    assert.deepEqual(byReason(FeedReason.POPULAR_AUTHOR).sort(), [...ids.pulled].sort());
    assert.equal(all.length, 7);
    const without = await scroll({ noDiscovery: true }, 2);
    assert.deepEqual(
      without,
      all.filter((i) => i.reason !== FeedReason.SECOND_DEGREE),
    );
    assert.ok(
      without.some((i) => i.reason === FeedReason.POPULAR_AUTHOR),
      'followed popular authors are not discovery',
    );
    assert.deepEqual(await scroll({ noDiscovery: true }, 1), without, 'whatever the page size');
  });

  it('refuses a cursor issued with the other setting as INVALID_ARGUMENT', async () => {
    const plain = await h.feed.getFeed({ viewerId: me, pageSize: 2 });
    const bare = await h.feed.getFeed({ viewerId: me, pageSize: 2, noDiscovery: true });
    assert.ok(plain.nextCursor && bare.nextCursor);
    assert.equal(
      await codeOf(h.feed.getFeed({ viewerId: me, pageSize: 2, cursor: plain.nextCursor, noDiscovery: true })),
      Code.InvalidArgument,
    );
    assert.equal(
      await codeOf(h.feed.getFeed({ viewerId: me, pageSize: 2, cursor: bare.nextCursor })),
      Code.InvalidArgument,
    );
  });
});
