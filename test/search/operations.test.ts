import { strict as assert } from 'node:assert';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { OperationState } from '../../gen/feedflow/v1/operations_pb';
import type { SearchCheckResult } from '../../pipeline/contracts/search';
import { TASK_QUEUES } from '../../pipeline/queues';
import type { GrpcServer } from '../../services/shared/grpc-server';
import { writeModel } from '../../stores/write-model';
import { searchCheckWorkflow } from '../../workflows/search-check';
import { temporalEnv, uniqueId } from '../support/env';
import { type OpsClient, startOps } from '../support/ops';
import { seedPost } from '../support/projection';
import { startQueryHarness, type QueryHarness } from '../support/query';
import { runSearchWorker, type SearchWorker } from '../support/search';

/** ReindexSearch (new index, bulk copy, alias swap) and the search check's repairs, on real servers. */
describe('Search operations: rebuild with an alias swap, and the check that repairs drift (real OpenSearch)', function () {
  this.timeout(180_000);
  let h: QueryHarness;
  let env: TestWorkflowEnvironment;
  let sw: SearchWorker;
  let server: GrpcServer;
  let ops: OpsClient;
  before(async () => {
    h = await startQueryHarness();
    env = await temporalEnv(h.stores.config);
    sw = await runSearchWorker(env.nativeConnection, h.stores, h.prefix);
    ({ server, ops } = await startOps(h, 'ops-test'));
  });
  after(async () => {
    await server?.close();
    await sw?.stop();
    await h?.close();
    await env?.teardown();
  });

  const idsOf = async (viewerId: string, query: string) =>
    (await h.feed.searchPosts({ viewerId, query, pageSize: 50 })).hits.map((x) => x.post!.postId).sort();

  it('rebuilds the index from the write model into a new index and swaps the alias, findable by id and kind', async () => {
    const ann = await h.register('Ann');
    const word = uniqueId('w');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await h.client.createPost({ authorId: ann, content: `${word} ${i}`, visibility: 1, postType: 1 });
      await sw.indexed(res.postId, 1);
      ids.push(res.postId);
    }
    const before = await sw.search.describe();
    assert.equal(before.live.length, 1);

    const requestId = uniqueId('r');
    const res = await ops.reindexSearch({ requestId, pageSize: 2, wait: true }, { timeoutMs: 60_000 });
    const op = res.operation!;
    assert.equal(op.state, OperationState.COMPLETED, op.error);
    assert.equal(op.kind, 'search-reindex');
    assert.equal(op.searchReindex?.done, true);
    assert.equal(op.searchReindex?.total, 5);
    assert.equal(op.searchReindex?.indexed, 5);
    assert.equal(op.itemsWritten, 5);

    const after = await sw.search.describe();
    assert.deepEqual(after, { live: [op.searchReindex!.index], building: [] });
    assert.notEqual(after.live[0], before.live[0]);
    assert.equal(await sw.search.count(), 5);
    assert.deepEqual(await idsOf(ann, word), ids.sort(), 'searches read the new index');

    const again = await ops.reindexSearch({ requestId });
    assert.equal(again.workflowId, res.workflowId, 'the same request joins the same rebuild');
    const got = await ops.getOperation({ workflowId: res.workflowId });
    assert.equal(got.operation!.state, OperationState.COMPLETED);
    assert.equal(got.operation!.searchReindex?.index, after.live[0]);

    // Live indexing goes on into the swapped index.
    const late = await h.client.createPost({ authorId: ann, content: `${word} late`, visibility: 1, postType: 1 });
    await sw.indexed(late.postId, 1);
    assert.deepEqual(await idsOf(ann, word), [...ids, late.postId].sort());
  });

  it('finds missing, stale and deleted-but-live documents and repairs them', async () => {
    const ann = await h.register('Ann');
    const word = uniqueId('w');
    const make = async (content: string) => {
      const res = await h.client.createPost({
        authorId: ann,
        content: `${word} ${content}`,
        visibility: 1,
        postType: 1,
      });
      await sw.indexed(res.postId, 1);
      return res.postId;
    };
    // Drift the pipeline does not make on its own: write-model changes whose indexing never ran (lost, or made
    // before search existed), and a post whose event was recorded but never handed to the search queue.
    const [stale, deleted] = [await make('stale'), await make('deleted')];
    const wm = writeModel(h.stores.db);
    await wm.posts.updateOne({ _id: stale }, { $set: { content: `${word} stale edited`, version: 2 } });
    await wm.posts.updateOne({ _id: deleted }, { $set: { deleted: true, version: 2 } });
    const missing = (await seedPost(h.stores, ann, { content: `${word} missing` })).postId!;

    const result = (await h.temporal.workflow.execute(searchCheckWorkflow, {
      taskQueue: h.prefix + TASK_QUEUES.search,
      workflowId: uniqueId('search-check-'),
      args: [{ sample: 100, windowMs: 600_000 }],
    })) as SearchCheckResult;
    assert.deepEqual(result.found, { search_missing: 1, search_stale: 1, search_deleted: 1 });
    assert.equal(result.repaired, 3);
    const now = await sw.search.versions([missing, stale, deleted]);
    assert.deepEqual(
      [missing, stale, deleted].map((id) => [now.get(id)?.version, now.get(id)?.deleted]),
      [
        [1, false],
        [2, false],
        [2, true],
      ],
    );
    const again = (await h.temporal.workflow.execute(searchCheckWorkflow, {
      taskQueue: h.prefix + TASK_QUEUES.search,
      workflowId: uniqueId('search-check-'),
      args: [{ sample: 100, windowMs: 600_000 }],
    })) as SearchCheckResult;
    assert.equal(again.repaired, 0, 'nothing left to repair');
  });
});
