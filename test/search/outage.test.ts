import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { Code } from '@connectrpc/connect';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Visibility } from '../../gen/feedflow/v1/common_pb';
import { temporalEnv, uniqueId } from '../support/env';
import { codeOf } from '../support/grpc';
import { startQueryHarness, type QueryHarness } from '../support/query';
import { runSearchWorker, type SearchWorker } from '../support/search';
import { waitFor } from '../support/wait';

const ROOT = resolve(__dirname, '../..');
/** The stack script on this checkout's stack (FEEDFLOW_STACK_DIR when set): only the search server is touched. */
const stack = (...args: string[]) => promisify(execFile)('bash', ['scripts/stack.sh', ...args], { cwd: ROOT });

/**
 * OpenSearch stopped and started again under a running deployment: SearchPosts says UNAVAILABLE, commands and feeds
 * go on, and the search workflows of the outage retry until the server is back, losing nothing.
 */
describe('Search outage: the search server down and back (real OpenSearch, stopped by the stack script)', function () {
  this.timeout(300_000);
  let h: QueryHarness;
  let env: TestWorkflowEnvironment;
  let sw: SearchWorker;
  before(async () => {
    h = await startQueryHarness();
    env = await temporalEnv(h.stores.config);
    sw = await runSearchWorker(env.nativeConnection, h.stores, h.prefix);
  });
  after(async () => {
    // Whatever happened, leave the server running for the suites after this one.
    await stack('up', 'search').catch(() => undefined);
    await sw?.stop();
    await h?.close();
    await env?.teardown();
  });

  it('answers UNAVAILABLE while down, keeps commands and feeds working, and indexes the outage’s posts once back', async () => {
    const ann = await h.register('Ann');
    const word = uniqueId('w');
    const before = await h.client.createPost({
      authorId: ann,
      content: `${word} before`,
      visibility: Visibility.PUBLIC,
      postType: 1,
    });
    await sw.indexed(before.postId, 1);

    await stack('down', 'search');
    try {
      assert.equal(await codeOf(h.feed.searchPosts({ viewerId: ann, query: word })), Code.Unavailable);
      const during = await h.client.createPost({
        authorId: ann,
        content: `${word} during`,
        visibility: Visibility.PUBLIC,
        postType: 1,
      });
      const edit = await h.client.updatePost({
        authorId: ann,
        postId: before.postId,
        content: `${word} edited during`,
      });
      const feed = await h.feed.getFeed({
        viewerId: ann,
        pageSize: 10,
        minConsistencyToken: edit.receipt!.consistencyToken,
      });
      assert.ok(feed.items !== undefined, 'the feed answers');
      // The indexing of the new post is failing and being retried, not dropped.
      const indexing = await h.workflowIdOf(during.receipt!.eventId, 'search');
      await waitFor(
        async () => {
          const d = await h.temporal.workflow.getHandle(indexing).describe();
          return (d.raw.pendingActivities?.[0]?.attempt ?? 0) >= 2;
        },
        { message: 'a retried search write' },
      );
      await stack('up', 'search');
      await sw.indexed(during.postId, 1);
      await sw.indexed(before.postId, 2);
      const res = await h.feed.searchPosts({ viewerId: ann, query: word });
      assert.deepEqual(res.hits.map((x) => x.post!.content).sort(), [`${word} during`, `${word} edited during`]);
    } finally {
      await stack('up', 'search');
    }
  });
});
