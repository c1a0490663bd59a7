import { strict as assert } from 'node:assert';
import { type BulkWriteResult, MongoBulkWriteError } from 'mongodb';
import { feedItemId } from '../../domain/ids';
import { trimFeedsToCap } from '../../stores/feed-cap';
import { purgeAuthorItems, refreshActorItems, updatePostItems, writeFeedItems } from '../../stores/feed-items';
import { setEngagement, tombstonePost, upsertPostSummary } from '../../stores/post-summaries';
import { distribution, projectionLag } from '../../stores/projection-lag';
import { ensureReadModelIndexes, type FeedItemDoc, readModel, type ReadModel } from '../../stores/read-model';
import { openStores, type TestStores, uniqueId } from '../support/env';

function item(viewerId: string, postId: string, version: number, extra: Partial<FeedItemDoc> = {}): FeedItemDoc {
  const at = new Date('2026-01-01T00:00:00Z');
  return {
    _id: feedItemId(viewerId, postId),
    viewerId,
    postId,
    version,
    actor: { id: 'author', name: 'Ann', headline: '', imageUrl: '', version: 1 },
    type: 'text',
    content: `v${version}`,
    mediaUrls: [],
    visibility: 'public',
    createdAt: at,
    acceptedAt: at,
    projectedAt: new Date(),
    score: 1,
    modelVersion: null,
    reason: 'follow',
    ...extra,
  };
}

describe('Read model (on the configured MongoDB-compatible server)', function () {
  this.timeout(60_000);
  let stores: TestStores;
  let rm: ReadModel;
  before(async () => {
    stores = await openStores();
    await ensureReadModelIndexes(stores.db);
    rm = readModel(stores.db);
  });
  after(async () => stores?.close());

  it('never reports a feed item written that a batch-level failure left unconfirmed', async () => {
    const post = uniqueId('p');
    const page = Array.from({ length: 40 }, (_, i) => item(uniqueId(`b${i}-`), post, 1));
    // The store writes the first 25 items of the batch, then refuses the rest as a whole: the driver reports that
    // as a bulk error with no per-document errors, which says nothing about the other 15.
    const refusing: ReadModel = {
      ...rm,
      feedItems: new Proxy(rm.feedItems, {
        get(target, key, receiver) {
          if (key !== 'insertMany') return Reflect.get(target, key, receiver);
          return async (docs: FeedItemDoc[]) => {
            const written = await target.insertMany(docs.slice(0, 25), { ordered: false });
            throw new MongoBulkWriteError({ message: 'batch refused under contention', code: 112, writeErrors: [] }, {
              insertedCount: written.insertedCount,
            } as unknown as BulkWriteResult);
          };
        },
      }),
    };
    await assert.rejects(writeFeedItems(refusing, page), /unconfirmed: 15 of 40/);
    assert.equal(await rm.feedItems.countDocuments({ postId: post }), 25, 'the refused part is really missing');
    // Temporal retries the page: the 25 are duplicates, the 15 insert, and every item exists once.
    assert.deepEqual(await writeFeedItems(rm, page), { inserted: 15, upgraded: 0, unchanged: 25 });
    assert.equal(await rm.feedItems.countDocuments({ postId: post }), 40);
  });

  it('guards feed writes by version: replays change nothing, newer wins, older never overwrites', async () => {
    const post = uniqueId('p');
    const viewers = ['v1', 'v2', 'v3'].map((v) => uniqueId(v));
    assert.deepEqual(
      await writeFeedItems(
        rm,
        viewers.map((v) => item(v, post, 2)),
      ),
      {
        inserted: 3,
        upgraded: 0,
        unchanged: 0,
      },
    );
    // A replay of the same page, mixed with one new viewer: only the new one is written.
    const extra = uniqueId('v4');
    assert.deepEqual(
      await writeFeedItems(
        rm,
        [...viewers, extra].map((v) => item(v, post, 2)),
      ),
      {
        inserted: 1,
        upgraded: 0,
        unchanged: 3,
      },
    );
    // An older version arriving late is ignored; a newer one moves items forward but keeps reason and score.
    assert.deepEqual(await writeFeedItems(rm, [item(viewers[0], post, 1)]), { inserted: 0, upgraded: 0, unchanged: 1 });
    await rm.feedItems.updateOne({ _id: feedItemId(viewers[1], post) }, { $set: { score: 7 } });
    assert.deepEqual(await writeFeedItems(rm, [item(viewers[1], post, 3, { reason: 'backfill' })]), {
      inserted: 0,
      upgraded: 1,
      unchanged: 0,
    });
    const docs = await rm.feedItems.find({ postId: post }).sort({ viewerId: 1 }).toArray();
    assert.equal(docs.length, 4);
    const v1 = docs.find((d) => d.viewerId === viewers[1])!;
    assert.deepEqual([v1.version, v1.content, v1.reason, v1.score], [3, 'v3', 'follow', 7]);
    assert.equal(docs.find((d) => d.viewerId === viewers[0])!.content, 'v2');
  });

  it('moves a post’s items forward on update, never back', async () => {
    const post = uniqueId('p');
    await writeFeedItems(rm, [item('a', post, 1), item('b', post, 3)]);
    const fields = { version: 2, type: 'text' as const, content: 'v2', mediaUrls: [], visibility: 'public' as const };
    const now = { acceptedAt: new Date(), projectedAt: new Date() };
    assert.equal(await updatePostItems(rm, post, { ...fields, ...now }), 1);
    assert.equal(await updatePostItems(rm, post, { ...fields, ...now }), 0);
    const byViewer = Object.fromEntries(
      (await rm.feedItems.find({ postId: post }).toArray()).map((d) => [d.viewerId, d.version]),
    );
    assert.deepEqual(byViewer, { a: 2, b: 3 });
  });

  it('refreshes actor snapshots only where they are older', async () => {
    const author = uniqueId('author');
    const actor = (version: number, name: string) => ({ id: author, name, headline: 'h', imageUrl: 'i', version });
    const post = uniqueId('p');
    await writeFeedItems(rm, [
      item('a', post, 1, { actor: actor(1, 'Ann') }),
      item('b', post, 1, { actor: actor(3, 'Anna') }),
    ]);
    assert.equal(await refreshActorItems(rm, actor(2, 'Annie')), 1);
    const names = (await rm.feedItems.find({ postId: post }).sort({ viewerId: 1 }).toArray()).map((d) => d.actor.name);
    assert.deepEqual(names, ['Annie', 'Anna']);
  });

  it('purges an author from a viewer’s feed, optionally keeping public posts', async () => {
    const [viewer, author] = [uniqueId('v'), uniqueId('a')];
    const by = (postId: string, visibility: 'public' | 'connections') =>
      item(viewer, postId, 1, { visibility, actor: { id: author, name: '', headline: '', imageUrl: '', version: 1 } });
    await writeFeedItems(rm, [by('p1', 'public'), by('p2', 'connections'), item(viewer, 'p3', 1)]);
    assert.equal(await purgeAuthorItems(rm, viewer, author, true), 1);
    assert.equal(await purgeAuthorItems(rm, viewer, author, false), 1);
    assert.deepEqual(
      (await rm.feedItems.find({ viewerId: viewer }).toArray()).map((d) => d.postId),
      ['p3'],
    );
  });

  it('trims feeds written since the last sweep to the cap, keeping their newest items', async () => {
    const [viewer, quiet] = [uniqueId('v'), uniqueId('quiet')];
    const base = Date.parse('2026-01-01T00:00:00Z');
    const since = new Date();
    const items = (v: string, projectedAt: Date) =>
      Array.from({ length: 12 }, (_, i) =>
        item(v, `p${String(i).padStart(2, '0')}`, 1, { createdAt: new Date(base + i * 1000), projectedAt }),
      );
    // `quiet` was written before the window: its (over-cap) feed is not this sweep's business.
    await writeFeedItems(rm, [...items(viewer, new Date()), ...items(quiet, new Date(since.getTime() - 60_000))]);
    const first = await trimFeedsToCap(rm, { cap: 10, since });
    assert.deepEqual(first, { viewers: 1, trimmedViewers: 1, trimmed: 2 });
    assert.deepEqual(await trimFeedsToCap(rm, { cap: 10, since }), { viewers: 1, trimmedViewers: 0, trimmed: 0 });
    const left = (await rm.feedItems.find({ viewerId: viewer }).sort({ createdAt: 1 }).toArray()).map((d) => d.postId);
    assert.deepEqual(
      left,
      Array.from({ length: 10 }, (_, i) => `p${String(i + 2).padStart(2, '0')}`),
    );
    assert.equal(await rm.feedItems.countDocuments({ viewerId: quiet }), 12);
  });

  it('keeps post summaries, tombstones and engagement counters monotonic', async () => {
    const post = uniqueId('p');
    const summary = {
      _id: post,
      authorId: 'a',
      version: 1,
      visibility: 'public' as const,
      createdAt: new Date(),
      deleted: false,
      audienceSize: 3,
    };
    // Engagement may be projected before the post's summary exists.
    assert.equal(await setEngagement(rm, post, { likes: 1, comments: 0, shares: 0, views: 2 }, 3), true);
    assert.equal(await upsertPostSummary(rm, summary), true);
    assert.equal(await upsertPostSummary(rm, summary), false);
    assert.equal(await setEngagement(rm, post, { likes: 0, comments: 0, shares: 0, views: 1 }, 1), false);
    await tombstonePost(rm, post, 'a', 3);
    assert.equal(await upsertPostSummary(rm, { ...summary, version: 2 }), false);
    const doc = await rm.postSummaries.findOne({ _id: post });
    assert.deepEqual(
      [doc?.deleted, doc?.version, doc?.audienceSize, doc?.engagement.likes, doc?.engagementTotal],
      [true, 3, 3, 1, 3],
    );
  });

  it('reports the projection lag distribution of recently projected items', async () => {
    const post = uniqueId('p');
    // In the future, so only these items were projected since then.
    const accepted = new Date(Date.now() + 86_400_000);
    const lagged = (viewer: string, ms: number, reason: 'follow' | 'backfill') =>
      item(viewer, post, 1, { acceptedAt: accepted, projectedAt: new Date(accepted.getTime() + ms), reason });
    await writeFeedItems(rm, [
      ...Array.from({ length: 98 }, (_, i) => lagged(`f${i}`, 20 + i, 'follow')),
      lagged('slow1', 400, 'follow'),
      lagged('slow2', 7_000, 'backfill'),
    ]);
    const lag = await projectionLag(rm, { since: accepted });
    assert.deepEqual([lag.count, lag.min, lag.p50, lag.p99, lag.max], [100, 20, 69, 400, 7_000]);
    assert.deepEqual(
      lag.histogram.filter((b) => b.count).map((b) => [b.le, b.count]),
      [
        [30, 11],
        [50, 20],
        [100, 50],
        [150, 17],
        [500, 1],
        [Infinity, 1],
      ],
    );
    assert.equal((await projectionLag(rm, { since: accepted, reason: 'backfill' })).count, 1);
    assert.deepEqual(distribution([]).p99, 0);
  });
});
