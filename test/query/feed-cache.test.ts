import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { Collection, type Document, type Filter, type FindCursor } from 'mongodb';
import { FeedService, FeedView } from '../../gen/feedflow/v1/feed_pb';
import { createLogger } from '../../lib/logger';
import { startQueryServer, type QueryServer } from '../../services/query/server';
import { feedCacheKeys, invalidateFeeds } from '../../stores/feed-cache';
import { writeModel } from '../../stores/write-model';
import { grpcClient } from '../support/grpc';
import { startQueryHarness, type QueryHarness } from '../support/query';
import { waitFor } from '../support/wait';

const ROOT = path.resolve(__dirname, '../..');
const stack = (...args: string[]) => promisify(execFile)('bash', ['scripts/stack.sh', ...args], { cwd: ROOT });

/** The invalidation channel is asynchronous: counts, not time, are asserted, once it has caught up. */
const CHANNEL_WAIT = { timeoutMs: 10_000, intervalMs: 25 };

/**
 * Runs `hook` once, right after the next read of `viewerId`'s pushed window has come back from the store and before
 * the reader sees it: a write that lands while a session is being built.
 */
function afterWindowRead(viewerId: string, hook: () => Promise<void>): () => void {
  const find = Collection.prototype.find;
  let armed = true;
  Collection.prototype.find = function (this: Collection<Document>, filter?: Filter<Document>, ...rest: unknown[]) {
    const cursor = (find as (...a: unknown[]) => FindCursor<Document>).call(this, filter, ...rest);
    if (armed && this.collectionName === 'feed_items' && (filter as { viewerId?: string })?.viewerId === viewerId) {
      armed = false;
      const toArray = cursor.toArray.bind(cursor);
      cursor.toArray = async () => {
        const docs = await toArray();
        await hook();
        return docs;
      };
    }
    return cursor;
  } as typeof find;
  return () => {
    Collection.prototype.find = find;
  };
}

describe('Feed cache in Redis: lossless invalidation, outages, round trips', function () {
  this.timeout(180_000);
  let h: QueryHarness;
  let admin: Redis;
  before(async () => {
    h = await startQueryHarness({ FEED_CAP: '50', FEED_WINDOW_SIZE: '30' });
    admin = new Redis(h.stores.config.REDIS_URL);
    admin.on('error', () => undefined); // while the Redis down test has it stopped
    await waitFor(() => h.query.channel.proven, { message: 'the channel is caught up', ...CHANNEL_WAIT });
  });
  after(async () => {
    admin?.disconnect();
    await h?.close();
  });

  const postFor = async (viewer: string, author: string, at = Date.now()): Promise<string> => {
    const id = await h.post(author, { content: `by ${author} at ${at}` });
    await writeModel(h.stores.db).posts.updateOne({ _id: id }, { $set: { createdAt: new Date(at) } });
    await h.push(viewer, id);
    return id;
  };
  const ids = async (viewerId: string, feed = h.feed) =>
    (await feed.getFeed({ viewerId, pageSize: 20 })).items.map((i) => i.post!.postId);
  /** Until this process's channel has applied an invalidation of the viewer newer than `than`. */
  const delivered = (q: QueryServer, viewerId: string, than?: string) =>
    waitFor(
      () => {
        const seen = q.channel.viewerId(viewerId);
        return !!seen && seen !== than;
      },
      { message: `the invalidation of ${viewerId} reached the query process`, ...CHANNEL_WAIT },
    );

  it('shows, on the next read, a post committed while the session was being built (L1 and a second process)', async () => {
    const [v, a] = [await h.register('V'), await h.register('A')];
    const p1 = await postFor(v, a, Date.now() - 10_000);
    let p2 = '';
    const disarm = afterWindowRead(v, async () => {
      p2 = await postFor(v, a);
      await invalidateFeeds(h.stores.db, [v]);
    });
    try {
      assert.deepEqual(await ids(v), [p1], 'the session was read before the post');
    } finally {
      disarm();
    }
    assert.ok(p2);
    await delivered(h.query, v);
    assert.deepEqual(await ids(v), [p2, p1], 'the next read in the same process shows it');
    // A process that never saw the message (a restart, or another replica) proves L2 by the generation.
    const other = await startQueryServer({
      config: h.stores.config,
      db: h.stores.db,
      graph: h.stores.graph,
      temporal: h.temporal,
      logger: createLogger('query-test', 'silent'),
      port: 0,
    });
    try {
      await waitFor(() => other.channel.proven, { message: 'the second process is caught up', ...CHANNEL_WAIT });
      assert.deepEqual(await ids(v, grpcClient(FeedService, other.port, 'dev-queries')), [p2, p1]);
    } finally {
      await other.close();
    }
  });

  it('resumes from the last entry it read after its Redis connection drops, losing none', async () => {
    const [v, a] = [await h.register('V'), await h.register('A')];
    const p1 = await postFor(v, a, Date.now() - 10_000);
    assert.deepEqual(await ids(v), [p1]);
    assert.deepEqual(await ids(v), [p1]);
    const l1 = h.query.cache.counters.l1Hits;
    assert.ok(l1 > 0, 'the second read was an L1 hit');
    const before = h.query.channel.viewerId(v);
    // Drop the channel's connection and invalidate before it reconnects: the entry lands while it is away.
    const clients = await admin.client('LIST');
    const id = /id=(\d+) [^\n]*name=feedflow-query-channel/.exec(String(clients))?.[1];
    assert.ok(id, 'the channel connection is listed');
    await admin.client('KILL', 'ID', id);
    const p2 = await postFor(v, a);
    await invalidateFeeds(h.stores.db, [v]);
    await delivered(h.query, v, before);
    await waitFor(() => h.query.channel.proven, { message: 'the channel caught up again', ...CHANNEL_WAIT });
    assert.deepEqual(await ids(v), [p2, p1]);
  });

  it('serves from the read models while Redis is down and caches again once it is back', async function () {
    const status = await stack('status').catch((e: { stdout: string }) => e);
    if (!/^redis\s+running/m.test(status.stdout)) this.skip(); // only a Redis this script started can be stopped
    const [v, a] = [await h.register('V'), await h.register('A')];
    const p1 = await postFor(v, a, Date.now() - 10_000);
    assert.deepEqual(await ids(v), [p1]);
    assert.deepEqual(await ids(v), [p1], 'cached in L1');
    await stack('down', 'redis');
    try {
      const p2 = await postFor(v, a);
      // The pipeline cannot invalidate while Redis is down: its activity fails and Temporal retries it.
      await assert.rejects(invalidateFeeds(h.stores.db, [v]));
      const down = h.query.cache.counters.unavailable;
      const page = await h.feed.getFeed({ viewerId: v, view: FeedView.V2_ENGAGEMENT });
      assert.deepEqual(
        page.items.map((i) => i.post!.postId),
        [p2, p1],
        'served from the read models, never an error',
      );
      assert.ok(h.query.cache.counters.unavailable > down, 'counted as served without the cache');
    } finally {
      await stack('up', 'redis');
    }
    await waitFor(() => h.query.channel.proven, { message: 'the channel is back', ...CHANNEL_WAIT });
    const p3 = await postFor(v, a);
    await invalidateFeeds(h.stores.db, [v]); // the retried invalidation lands
    await delivered(h.query, v);
    assert.equal((await ids(v))[0], p3);
    const hits = h.query.cache.counters.l1Hits;
    assert.equal((await ids(v))[0], p3);
    assert.equal(h.query.cache.counters.l1Hits, hits + 1, 'caching resumed by itself');
  });

  it('drops an L2 session another process built before an invalidation it missed', async () => {
    const [v, a] = [await h.register('V'), await h.register('A')];
    const p1 = await postFor(v, a, Date.now() - 10_000);
    assert.deepEqual(await ids(v), [p1]);
    const keys = feedCacheKeys(h.stores.db.databaseName);
    const cached = await admin.get(keys.current(v));
    assert.ok(cached, 'the session is in L2');
    // A write whose stream entry this process will see, but check L2 alone: the generation moved.
    const p2 = await postFor(v, a);
    await invalidateFeeds(h.stores.db, [v]);
    assert.notEqual(JSON.parse(cached).stamps.gen, await admin.get(keys.gen(v)));
    await delivered(h.query, v);
    assert.deepEqual(await ids(v), [p2, p1]);
  });
});
