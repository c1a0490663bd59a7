import { strict as assert } from 'node:assert';
import { Code, ConnectError } from '@connectrpc/connect';
import { PostType, Visibility } from '../../gen/feedflow/v1/common_pb';
import { RetryInfoSchema } from '../../gen/google/rpc/error_details_pb';
import { freePort, startPrivateStack, type PrivateStack } from '../support/private-stack';
import { startQueryHarness, type QueryHarness } from '../support/query';
import { waitFor } from '../support/wait';

/**
 * Each store down under a running deployment, on servers of its own (never the shared stack). A call made with a
 * 3 s deadline must come back before it: UNAVAILABLE with RetryInfo (never INTERNAL, never DEADLINE_EXCEEDED),
 * or served without the optional part. No elapsed time is asserted.
 */
const DEADLINE = { timeoutMs: 3000 };

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error('expected the call to fail');
}

async function assertUnavailable(call: Promise<unknown>): Promise<void> {
  const err = await failure(call);
  assert.equal(Code[err.code], Code[Code.Unavailable], err.rawMessage);
  assert.equal(err.findDetails(RetryInfoSchema).length, 1, 'UNAVAILABLE carries google.rpc.RetryInfo');
}

const post = (h: QueryHarness, authorId: string) =>
  h.client.createPost(
    { authorId, content: 'during the outage', visibility: Visibility.PUBLIC, postType: PostType.TEXT },
    DEADLINE,
  );

describe('Store faults: PostgreSQL and FerretDB killed (private servers)', function () {
  this.timeout(120_000);
  let stack: PrivateStack;
  let h: QueryHarness;
  let author: string;
  let bob: string;
  before(async () => {
    stack = await startPrivateStack(['postgres', 'ferretdb']);
    h = await startQueryHarness(stack.env);
    author = await h.register('Ann');
    bob = await h.register('Bob');
    await h.push(author, await h.post(author));
  });
  after(async () => {
    await stack?.up('postgres', 'ferretdb').catch(() => undefined);
    await h?.close();
    await stack?.close();
  });

  it('answers UNAVAILABLE with retry info while PostgreSQL is down, and serves again once it is back', async () => {
    await stack.kill('postgres');
    await assertUnavailable(post(h, author));
    await assertUnavailable(h.feed.getFeed({ viewerId: author }, DEADLINE));
    await stack.up('postgres');
    assert.equal((await h.feed.getFeed({ viewerId: author }, DEADLINE)).items.length, 1);
  });

  it('answers UNAVAILABLE with retry info while FerretDB is down, and serves again once it is back', async () => {
    await stack.kill('ferretdb');
    await assertUnavailable(post(h, author));
    // Bob's feed was never read, so no cache tier holds it: it must come from the store.
    await assertUnavailable(h.feed.getFeed({ viewerId: bob }, DEADLINE));
    await stack.up('ferretdb');
    assert.ok((await post(h, author)).postId);
  });
});

describe('Store faults: Redis down (private server)', function () {
  this.timeout(120_000);
  let stack: PrivateStack;
  let h: QueryHarness;
  before(async () => {
    stack = await startPrivateStack(['redis']);
    h = await startQueryHarness({ REDIS_URL: stack.env.REDIS_URL });
  });
  after(async () => {
    await h?.close();
    await stack?.close();
  });

  it('serves feeds from the read models while the cache is down', async () => {
    const ann = await h.register('Ann');
    await h.push(ann, await h.post(ann));
    assert.equal((await h.feed.getFeed({ viewerId: ann }, DEADLINE)).items.length, 1);
    await stack.kill('redis');
    const bob = await h.register('Bob');
    await h.push(bob, await h.post(ann));
    assert.equal((await h.feed.getFeed({ viewerId: bob }, DEADLINE)).items.length, 1);
  });
});

describe('Store faults: the graph down (private server, killed)', function () {
  this.timeout(120_000);
  let stack: PrivateStack;
  let h: QueryHarness;
  before(async () => {
    stack = await startPrivateStack(['graph']);
    h = await startQueryHarness({ GRAPH_URI: stack.env.GRAPH_URI });
  });
  after(async () => {
    await h?.close();
    await stack?.close();
  });

  it('serves GetFeed without discovery, with or without no_discovery, and GetNetwork answers UNAVAILABLE', async () => {
    const ann = await h.register('Ann');
    const pushed = await h.post(ann);
    // The graph answers while up (its first queries, on a cold server, may take longer than the read bound).
    await waitFor(() => h.feed.getNetwork({ userId: ann, degree: 2 }, DEADLINE), { message: 'the graph to answer' });
    await stack.kill('graph');
    for (const noDiscovery of [false, true]) {
      // A viewer per request, so neither page comes from the other's cached session.
      const viewerId = await h.register('Viewer');
      await h.push(viewerId, pushed);
      const page = await h.feed.getFeed({ viewerId, noDiscovery }, DEADLINE);
      assert.deepEqual(
        page.items.map((i) => i.post?.postId),
        [pushed],
      );
    }
    await assertUnavailable(h.feed.getNetwork({ userId: ann, degree: 2 }, DEADLINE));
  });
});

describe('Store faults: the search server unreachable (nothing listens on its port)', function () {
  this.timeout(60_000);
  let h: QueryHarness;
  before(async () => {
    h = await startQueryHarness({ SEARCH_URL: `http://127.0.0.1:${await freePort()}` });
  });
  after(() => h?.close());

  it('answers SearchPosts with UNAVAILABLE and retry info', async () => {
    const ann = await h.register('Ann');
    await assertUnavailable(h.feed.searchPosts({ viewerId: ann, query: 'hello' }, DEADLINE));
  });
});
