import { strict as assert } from 'node:assert';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code } from '@connectrpc/connect';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { PostType, Visibility } from '../../gen/feedflow/v1/common_pb';
import { SearchSort } from '../../gen/feedflow/v1/feed_pb';
import { searchDocOf } from '../../stores/search';
import { writeModel } from '../../stores/write-model';
import { temporalEnv, uniqueId } from '../support/env';
import { codeOf } from '../support/grpc';
import { startQueryHarness, type QueryHarness } from '../support/query';
import { runSearchWorker, type SearchWorker } from '../support/search';

/**
 * SearchPosts on the real stack: commands over gRPC, the hand-off starting `{prefix}search/{eventId}:{time}` on the search queue,
 * a search worker in this process writing to the suite's own OpenSearch alias, and the query server answering.
 */
describe('SearchPosts: indexing through the pipeline, visibility at read time (real OpenSearch)', function () {
  this.timeout(180_000);
  let h: QueryHarness;
  let env: TestWorkflowEnvironment;
  let sw: SearchWorker;
  before(async () => {
    h = await startQueryHarness();
    env = await temporalEnv(h.stores.config);
    sw = await runSearchWorker(env.nativeConnection, h.stores, h.prefix);
  });
  after(async () => {
    await sw?.stop();
    await h?.close();
    await env?.teardown();
  });

  const search = (viewerId: string, query: string, extra: Record<string, unknown> = {}) =>
    h.feed.searchPosts({ viewerId, query, pageSize: 50, ...extra });
  const idsOf = async (viewerId: string, query: string, extra: Record<string, unknown> = {}) =>
    (await search(viewerId, query, extra)).hits.map((x) => x.post!.postId).sort();
  const post = async (authorId: string, content: string, visibility = Visibility.PUBLIC, postType = PostType.TEXT) => {
    const res = await h.client.createPost({ authorId, content, visibility, postType });
    await sw.indexed(res.postId, 1);
    return res.postId;
  };
  const connect = async (a: string, b: string) => {
    const req = await h.client.requestConnection({ requesterId: a, addresseeId: b });
    await h.client.respondToConnection({ addresseeId: b, connectionId: req.connectionId, accept: true });
  };

  it('finds a post by a stemmed word, with a highlighted snippet and the Post GetFeed returns', async () => {
    const ann = await h.register('Ann Archer');
    const word = uniqueId('w');
    const id = await post(ann, `Running the ${word} engines <fast> & quietly`);
    const res = await search(ann, `run ${word} engine`);
    assert.equal(res.hits.length, 1);
    const hit = res.hits[0];
    assert.equal(hit.post!.postId, id);
    assert.equal(hit.post!.author!.displayName, 'Ann Archer');
    assert.equal(hit.post!.version, 1);
    assert.equal(hit.post!.visibility, Visibility.PUBLIC);
    assert.match(
      hit.snippet,
      /<em>Running<\/em> the <em>w[0-9a-f]+<\/em> <em>engines<\/em> &lt;fast&gt; &amp; quietly/,
    );
    assert.ok(hit.score > 0);
    const byName = await idsOf(ann, `archer ${word}`);
    assert.deepEqual(byName, [id], "the author's name matches too");
  });

  it('serves each member only what the one visibility rule admits, blocks both ways, and re-checks at read time', async () => {
    const [ann, bob, cat, dan, eve] = await Promise.all(['Ann', 'Bob', 'Cat', 'Dan', 'Eve'].map((n) => h.register(n)));
    await connect(ann, bob);
    await h.client.follow({ followerId: cat, followeeId: ann });
    await h.client.block({ blockerId: ann, blockedId: dan });
    await h.client.block({ blockerId: eve, blockedId: ann });
    const word = uniqueId('w');
    const pub = await post(ann, `${word} for everyone`, Visibility.PUBLIC);
    const con = await post(ann, `${word} for connections`, Visibility.CONNECTIONS);
    const prv = await post(ann, `${word} for me`, Visibility.PRIVATE);
    const bobs = await post(bob, `${word} from Bob`, Visibility.CONNECTIONS);
    assert.deepEqual(await idsOf(ann, word), [pub, con, prv, bobs].sort(), 'own posts and a connection’s');
    assert.deepEqual(await idsOf(bob, word), [pub, con, bobs].sort(), 'a connection');
    assert.deepEqual(await idsOf(cat, word), [pub], 'a follower sees public only');
    assert.deepEqual(await idsOf(dan, word), [], 'blocked by the author');
    assert.deepEqual(await idsOf(eve, word), [], 'blocking the author');
    assert.deepEqual(await idsOf(ann, `${word} Bob`), [bobs]);

    // A block lands in the write model before any index change: the read-time check already hides both ways.
    await h.client.block({ blockerId: bob, blockedId: ann });
    assert.deepEqual(await idsOf(bob, word), [bobs], 'Bob no longer sees Ann');
    assert.deepEqual(await idsOf(ann, word), [pub, con, prv].sort(), 'Ann no longer sees Bob');
  });

  it('never returns a deleted post, and a late or older write never brings it back', async () => {
    const ann = await h.register('Ann');
    const word = uniqueId('w');
    const id = await post(ann, `${word} soon gone`);
    const wm = writeModel(h.stores.db);
    const v1 = (await wm.posts.findOne({ _id: id }))!;
    const author = await wm.users.findOne({ _id: ann });
    await h.client.updatePost({ authorId: ann, postId: id, content: `${word} edited once` });
    await sw.indexed(id, 2);
    const v2 = (await wm.posts.findOne({ _id: id }))!;
    await h.client.deletePost({ authorId: ann, postId: id });
    assert.deepEqual(await idsOf(ann, word), [], 'hidden at once, before the index hears of it');
    await sw.indexed(id, 3);
    assert.equal((await sw.search.versions([id])).get(id)?.deleted, true, 'a tombstone at the delete’s version');

    // An edit or create delivered late (a retried or replayed write) is older than the tombstone and refused.
    assert.deepEqual(await sw.search.write([searchDocOf(v2, author), searchDocOf(v1, author)]), {
      written: 0,
      stale: 2,
    });
    // An edit after the delete is refused by the command side (codeOf throws if it succeeds).
    await codeOf(h.client.updatePost({ authorId: ann, postId: id, content: `${word} edit after delete` }));
    await sw.search.refresh();
    assert.equal((await sw.search.versions([id])).get(id)?.deleted, true);
    assert.deepEqual(await idsOf(ann, word), []);
  });

  it('follows edits: the new words are found, the old ones are not, and an older edit never overwrites', async () => {
    const ann = await h.register('Ann');
    const [oldWord, newWord] = [uniqueId('w'), uniqueId('w')];
    const id = await post(ann, `${oldWord} first draft`);
    const wm = writeModel(h.stores.db);
    const v1 = (await wm.posts.findOne({ _id: id }))!;
    await h.client.updatePost({ authorId: ann, postId: id, content: `${newWord} second draft` });
    await sw.indexed(id, 2);
    assert.deepEqual(await idsOf(ann, oldWord), []);
    const [hit] = (await search(ann, newWord)).hits;
    assert.equal(hit.post!.version, 2);
    assert.equal(hit.post!.content, `${newWord} second draft`);
    assert.deepEqual(await sw.search.write([searchDocOf(v1, await wm.users.findOne({ _id: ann }))]), {
      written: 0,
      stale: 1,
    });
  });

  it("re-indexes an author's posts on a rename, so the new name is searchable", async () => {
    const ann = await h.register('Ann Oldname');
    const word = uniqueId('w');
    const ids = [await post(ann, `${word} one`), await post(ann, `${word} two`)];
    const newName = uniqueId('Name');
    const profile = await h.feed.getProfile({ userId: ann });
    const res = await h.client.updateProfile({
      userId: ann,
      displayName: newName,
      expectedVersion: profile.profile!.version,
    });
    await h.projected(res.receipt!.eventId, 'search');
    await sw.search.refresh();
    assert.deepEqual(await idsOf(ann, newName), ids.sort());
    assert.deepEqual(await idsOf(ann, `Oldname ${word}`), []);
  });

  it('pages without repeats or gaps, by relevance or newest first, and filters by author, type and time', async () => {
    const [ann, bob] = [await h.register('Ann'), await h.register('Bob')];
    const word = uniqueId('w');
    const t0 = new Date();
    const mine: string[] = [];
    for (let i = 0; i < 5; i++) mine.push(await post(ann, `${word} note ${i}`));
    const article = await post(bob, `${word} ${word} ${word} article`, Visibility.PUBLIC, PostType.ARTICLE);
    const all = [...mine, article];

    const pages: string[][] = [];
    let cursor = '';
    do {
      const res = await h.feed.searchPosts({
        viewerId: bob,
        query: word,
        pageSize: 2,
        cursor,
        sort: SearchSort.NEWEST,
      });
      pages.push(res.hits.map((x) => x.post!.postId));
      cursor = res.nextCursor;
    } while (cursor && pages.length < 10);
    assert.deepEqual(pages.flat(), [...all].reverse(), 'newest first, each post once');
    assert.deepEqual(
      pages.map((p) => p.length),
      [2, 2, 2],
    );
    const relevance = (await search(bob, word)).hits.map((x) => x.post!.postId);
    assert.equal(relevance[0], article, 'the best match first');
    assert.deepEqual(relevance.slice(1), [...mine].reverse(), 'equal matches newest first');

    assert.deepEqual(await idsOf(bob, word, { authorId: ann }), [...mine].sort());
    assert.deepEqual(await idsOf(bob, word, { postType: PostType.ARTICLE }), [article]);
    assert.deepEqual(await idsOf(bob, word, { createdBefore: timestampFromDate(t0) }), []);
    assert.deepEqual(await idsOf(bob, word, { createdAfter: timestampFromDate(t0) }), [...all].sort());
  });

  it('answers bad input with INVALID_ARGUMENT (or NOT_FOUND for an unknown member), never as query DSL', async () => {
    const ann = await h.register('Ann');
    const bad = (req: Record<string, unknown>) => codeOf(h.feed.searchPosts({ viewerId: ann, query: 'x', ...req }));
    for (const query of ['', '   ', 'a'.repeat(201), '+-|*()"', 'bell\u0007', Array(40).fill('w').join(' ')]) {
      assert.equal(await bad({ query }), Code.InvalidArgument, JSON.stringify(query));
    }
    assert.equal(await bad({ pageSize: 51 }), Code.InvalidArgument);
    assert.equal(await bad({ cursor: 'junk' }), Code.InvalidArgument);
    assert.equal(await bad({ postType: 99 }), Code.InvalidArgument);
    assert.equal(await bad({ sort: 9 }), Code.InvalidArgument);
    const now = timestampFromDate(new Date());
    assert.equal(await bad({ createdAfter: now, createdBefore: now }), Code.InvalidArgument);
    assert.equal(await bad({ viewerId: 'nobody_here' }), Code.NotFound);
    assert.equal(await bad({ authorId: 'nobody_here' }), Code.NotFound);
    // Query DSL in the text is just words: no error, no match.
    const dsl = await h.feed.searchPosts({ viewerId: ann, query: '{"match_all":{}} OR *:*' });
    assert.deepEqual(dsl.hits, []);
    // A cursor belongs to its viewer, query and filters.
    const word = uniqueId('w');
    for (let i = 0; i < 3; i++) await post(ann, `${word} ${i}`);
    const first = await h.feed.searchPosts({ viewerId: ann, query: word, pageSize: 1 });
    assert.ok(first.nextCursor);
    assert.equal(await bad({ query: `${word} other`, cursor: first.nextCursor }), Code.InvalidArgument);
  });
});
