import { strict as assert } from 'node:assert';
import { Socket } from 'node:net';
import { type CommandStartedEvent, MongoClient } from 'mongodb';
import { FeedReason, FeedService, FeedView } from '../../gen/feedflow/v1/feed_pb';
import { createLogger } from '../../lib/logger';
import { startQueryServer, type QueryServer } from '../../services/query/server';
import { invalidateFeeds } from '../../stores/feed-cache';
import { createGraph } from '../../stores/graph';
import { writeModel } from '../../stores/write-model';
import { grpcClient } from '../support/grpc';
import { startQueryHarness, type QueryHarness } from '../support/query';
import { waitFor } from '../support/wait';

/**
 * Store round trips of one cold feed page, counted by the MongoDB driver's command monitoring and by the writes
 * on the query server's Redis command connection (a pipeline is one write and one round trip).
 */
describe('A cold feed page in at most three store round trips', function () {
  this.timeout(180_000);
  let h: QueryHarness;
  let mongo: MongoClient;
  let q: QueryServer;
  const mongoCommands: string[] = [];
  let redisWrites = 0;
  const write = Socket.prototype.write;

  before(async () => {
    h = await startQueryHarness({ FEED_CAP: '100', FEED_WINDOW_SIZE: '50' });
    mongo = await MongoClient.connect(h.stores.config.MONGODB_URI, { monitorCommands: true });
    mongo.on('commandStarted', (e: CommandStartedEvent) =>
      mongoCommands.push(`${e.commandName} ${e.command[e.commandName]}`),
    );
    q = await startQueryServer({
      config: h.stores.config,
      db: mongo.db(h.stores.config.MONGODB_DB),
      graph: h.stores.graph,
      temporal: h.temporal,
      logger: createLogger('query-test', 'silent'),
      port: 0,
    });
    Socket.prototype.write = function (this: Socket, ...args: unknown[]) {
      if (this === q.cacheRedis.stream) redisWrites++;
      return (write as (...a: unknown[]) => boolean).apply(this, args);
    } as typeof write;
  });
  after(async () => {
    Socket.prototype.write = write;
    await q?.close();
    await mongo?.close();
    await h?.close();
  });

  const counted = async <T>(fn: () => Promise<T>): Promise<{ value: T; mongo: string[]; redis: number }> => {
    mongoCommands.length = 0;
    redisWrites = 0;
    const value = await fn();
    return { value, mongo: [...mongoCommands], redis: redisWrites };
  };

  it('reads a cold V1 and V3 page in three: the cache, the feed window, the new session with its counts', async () => {
    const feed = grpcClient(FeedService, q.port, 'dev-queries');
    const v = await h.register('Viewer');
    const authors = [];
    for (let i = 0; i < 5; i++) authors.push(await h.register(`Author ${i}`));
    const now = Date.now();
    for (let i = 0; i < 25; i++) {
      const id = await h.post(authors[i % authors.length], { content: `post ${i}` });
      await writeModel(h.stores.db).posts.updateOne({ _id: id }, { $set: { createdAt: new Date(now - i * 1000) } });
      await h.push(v, id);
    }
    // The first read ever derives the viewer's state and fills the engagement counts: not a cold page.
    await feed.getFeed({ viewerId: v, view: FeedView.V3_PERSONALIZED });
    for (const view of [FeedView.V1_BASIC, FeedView.V3_PERSONALIZED]) {
      // A new post invalidates the cached session: the next first page is cold.
      const before = q.channel.viewerId(v);
      await invalidateFeeds(h.stores.db, [v]);
      await waitFor(() => q.channel.viewerId(v) !== before, {
        message: 'the invalidation to reach the query process',
        timeoutMs: 10_000,
        intervalMs: 25,
      });
      const page = await counted(() => feed.getFeed({ viewerId: v, pageSize: 20, view }));
      assert.equal(page.value.items.length, 20);
      const trips = page.mongo.length + page.redis;
      console.log(
        `      ${FeedView[view]}: ${trips} round trips (MongoDB: ${page.mongo.join(', ')}; Redis: ${page.redis})`,
      );
      assert.ok(trips <= 3, `a cold ${FeedView[view]} page took ${trips} round trips: ${page.mongo.join('; ')}`);
      if (view === FeedView.V3_PERSONALIZED) assert.ok(page.value.items.every((i) => i.post!.engagement));
    }
  });

  it('serves a cached page in one round trip at most (the counts of V2 and V3)', async () => {
    const feed = grpcClient(FeedService, q.port, 'dev-queries');
    const v = await h.register('Viewer');
    const a = await h.register('Author');
    await h.push(v, await h.post(a));
    await feed.getFeed({ viewerId: v, view: FeedView.V3_PERSONALIZED });
    const page = await counted(() => feed.getFeed({ viewerId: v, view: FeedView.V3_PERSONALIZED }));
    assert.equal(page.mongo.length, 0, page.mongo.join('; '));
    assert.ok(page.redis <= 1);
  });

  it('finds discovery for a viewer with 200 connections and follows', async () => {
    const feed = grpcClient(FeedService, q.port, 'dev-queries');
    const [me, friend, fof] = [await h.register('Me'), await h.register('Friend'), await h.register('Fof')];
    const graph = createGraph(h.stores.graph, h.stores.config.GRAPH_DIALECT);
    const followed = Array.from({ length: 210 }, (_, i) => `${me}-idol-${i}`);
    await graph.syncEdges([
      { kind: 'CONNECTED', from: me, to: friend, active: true, version: 2 },
      { kind: 'CONNECTED', from: friend, to: fof, active: true, version: 2 },
      ...followed.map((to) => ({ kind: 'FOLLOWS' as const, from: me, to, active: true, version: 1 })),
    ]);
    try {
      const network = await graph.network(me, 200);
      assert.ok(network.filter((m) => m.degree === 1).length >= 200);
      const shared = await h.post(fof, { content: 'found through a friend' });
      const page = await feed.getFeed({ viewerId: me, view: FeedView.V3_PERSONALIZED });
      const item = page.items.find((i) => i.post!.postId === shared);
      assert.equal(item?.reason, FeedReason.SECOND_DEGREE);
    } finally {
      await graph.removeUsers(followed);
    }
  });
});
