import { strict as assert } from 'node:assert';
import { NativeConnection } from '@temporalio/worker';
import { CommandService } from '../../gen/feedflow/v1/command_pb';
import { PostType, Visibility } from '../../gen/feedflow/v1/common_pb';
import { createLogger } from '../../lib/logger';
import { metrics } from '../../lib/metrics';
import { startCommandServer, type CommandServer } from '../../services/command/server';
import { createGraph } from '../../stores/graph';
import { ensureReadModelIndexes, readModel } from '../../stores/read-model';
import { writeModel } from '../../stores/write-model';
import { type FirstHop, startFirstHopWorkers } from '../../workers/first-hop';
import { openStores, type TestStores, uniqueId } from '../support/env';
import { grpcClient } from '../support/grpc';
import { seedAudience } from '../support/projection';

const eagerStarts = async () =>
  (await metrics.projectionStarts.get()).values.find((v) => v.labels.outcome === 'eager')?.value ?? 0;

/**
 * The command server as production runs it: first-hop workers on the projection queues share the Temporal client's
 * connection, so each start comes back with its first workflow task and the small projection finishes in this
 * process. No projection worker runs here at all, so everything written was written by the first hop.
 */
describe('First-hop workers: eager projection starts in the command server', function () {
  this.timeout(120_000);
  let stores: TestStores;
  let connection: NativeConnection;
  let firstHop: FirstHop;
  let server: CommandServer;

  before(async () => {
    stores = await openStores({ TASK_QUEUE_PREFIX: uniqueId('firsthop-') + '-', RATE_LIMITS_ENABLED: 'false' });
    connection = await NativeConnection.connect({ address: stores.config.TEMPORAL_ADDRESS });
    const graph = createGraph(stores.graph, stores.config.GRAPH_DIALECT);
    await Promise.all([ensureReadModelIndexes(stores.db), graph.ensureSchema()]);
    const logger = createLogger('first-hop-test', 'silent');
    firstHop = await startFirstHopWorkers({ connection, config: stores.config, db: stores.db, graph, logger });
    server = await startCommandServer({
      config: stores.config,
      db: stores.db,
      temporal: firstHop.client,
      logger,
      port: 0,
      eager: true,
    });
  });
  after(async () => {
    await server?.close();
    await firstHop?.stop();
    await connection?.close();
    await stores?.close();
  });

  it('runs each small projection eagerly, in the process that answered the command', async () => {
    const c = grpcClient(CommandService, server.port, 'dev-commands');
    const author = (await c.registerUser({ email: `${uniqueId('a')}@example.com`, displayName: 'Ada' })).userId;
    const followers = await seedAudience(createGraph(stores.graph, stores.config.GRAPH_DIALECT), author, 50);
    const before = await eagerStarts();
    const posts = await Promise.all(
      [1, 2, 3, 4, 5].map((n) =>
        c.createPost({
          authorId: author,
          content: `eager ${n}`,
          visibility: Visibility.PUBLIC,
          postType: PostType.TEXT,
        }),
      ),
    );
    await server.drain();
    for (const p of posts) {
      const ev = await writeModel(stores.db).events.findOne({ _id: p.receipt!.eventId });
      const handle = firstHop.client.workflow.getHandle(ev!.workflowId!);
      await handle.result();
      const history = await handle.fetchHistory();
      assert.equal(history.events!.filter((e) => e.workflowTaskCompletedEventAttributes).length, 1);
      assert.equal(history.events!.filter((e) => e.activityTaskScheduledEventAttributes).length, 0);
    }
    // The registration's profile projection and the five fan-outs all started eagerly.
    assert.ok((await eagerStarts()) - before >= 5, `eager starts: ${(await eagerStarts()) - before}`);
    const rm = readModel(stores.db);
    for (const p of posts) assert.equal(await rm.feedItems.countDocuments({ postId: p.postId }), 51);
    assert.equal(followers.length, 50);
  });
});
