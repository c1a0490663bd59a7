/**
 * Records one real history per projection workflow kind into test/fixtures/histories/, for the determinism test
 * (replay.test.ts). Re-record after an intended, versioned change to a workflow's code:
 *
 *   npx tsx test/projection/record-histories.ts
 *
 * Runs against the local stack: commands over gRPC, projections on in-process workers with the real activities.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { EngagementKind, PostType, Visibility } from '../../gen/feedflow/v1/common_pb';
import { exitOnFailure } from '../../lib/main';
import { TASK_QUEUES } from '../../pipeline/queues';
import { SEARCH_ATTRIBUTES } from '../../pipeline/search-attributes';
import { writeModel } from '../../stores/write-model';
import { trimFeedsWorkflow } from '../../workflows/trim-feeds';
import { historyToFixture } from '../support/bundle';
import { startCommandHarness } from '../support/command';
import { uniqueId } from '../support/env';
import { seedAudience, seedPost, startFanout } from '../support/projection';
import { runSearchWorker } from '../support/search';
import { runProjectionWorkers } from '../support/workers';

const OUT = resolve(__dirname, '../fixtures/histories');

async function main(): Promise<void> {
  const h = await startCommandHarness();
  const connection = await NativeConnection.connect({ address: h.stores.config.TEMPORAL_ADDRESS });
  // Small pages: the recorded fan-out spans several slices.
  const workers = await runProjectionWorkers(connection, h.stores, h.prefix, { FANOUT_PAGE_SIZE: 100 });
  const search = await runSearchWorker(connection, h.stores, h.prefix);
  try {
    const c = h.client;
    const [ann, bob] = [await h.register('Ann'), await h.register('Bob')];
    const req = await c.requestConnection({ requesterId: ann, addresseeId: bob });
    await c.respondToConnection({ addresseeId: bob, connectionId: req.connectionId, accept: true });
    const post = await c.createPost({
      authorId: ann,
      content: 'hi',
      visibility: Visibility.PUBLIC,
      postType: PostType.TEXT,
    });
    await c.updatePost({ authorId: ann, postId: post.postId, content: 'hi!', expectedVersion: 1 });
    await c.updateProfile({ userId: ann, displayName: 'Ann B', expectedVersion: 1 });
    await c.recordEngagement({ userId: bob, postId: post.postId, kind: EngagementKind.LIKE });
    await c.block({ blockerId: bob, blockedId: ann });
    await c.deletePost({ authorId: ann, postId: post.postId });

    const author = uniqueId('rec');
    const audience = await seedAudience(workers.graph, author, 2_500);
    const big = await seedPost(h.stores, author);
    await (await startFanout(h.temporal, h.prefix, big)).result();

    await h.server.drain();
    const events = await writeModel(h.stores.db)
      .events.find({ workflowId: { $exists: true } })
      .toArray();
    const byType = new Map<string, string>();
    for (const e of events) if (e.workflowType && e.type !== 'UserRegistered') byType.set(e.workflowType, e._id);
    byType.set('fanoutPostWorkflow', big.eventId);
    // A post's search indexing, started by the hand-off beside its fan-out.
    byType.set('searchIndexWorkflow', await h.workflowIdOf(post.receipt!.eventId, 'search'));
    // The cap sweep runs on a Schedule; one run started the way the Schedule starts it.
    const sweepId = uniqueId('trim/feeds/record-');
    await h.temporal.workflow.start(trimFeedsWorkflow, {
      workflowId: sweepId,
      taskQueue: h.prefix + TASK_QUEUES.projection,
      args: [{ windowMs: 600_000 }],
      typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.feedOperation, value: 'trim' }],
    });
    byType.set('trimFeedsWorkflow', sweepId);
    await mkdir(OUT, { recursive: true });
    for (const [type, workflowId] of byType) {
      const handle = h.temporal.workflow.getHandle(workflowId);
      await handle.result();
      await writeFile(resolve(OUT, `${type}.json`), historyToFixture(await handle.fetchHistory()));
      console.log(`recorded ${type} (${workflowId})`);
    }
    await workers.graph.removeUsers([author, ...audience]);
  } finally {
    await workers.stop();
    await search.stop();
    await connection.close();
    await h.close();
  }
}

exitOnFailure(main());
