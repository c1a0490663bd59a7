import { strict as assert } from 'node:assert';
import { NativeConnection } from '@temporalio/worker';
import { PostType, Visibility } from '../../gen/feedflow/v1/common_pb';
import { FeedReason, FeedView } from '../../gen/feedflow/v1/feed_pb';
import { OperationsService } from '../../gen/feedflow/v1/operations_pb';
import { createLogger } from '../../lib/logger';
import { TASK_QUEUES } from '../../pipeline/queues';
import { startOperationsServer } from '../../services/operations/server';
import type { GrpcServer } from '../../services/shared/grpc-server';
import { grpcClient } from '../support/grpc';
import { startQueryHarness, type QueryHarness } from '../support/query';
import { runProjectionWorkers, type RunningWorkers } from '../support/workers';

/**
 * RebuildFeed's counts add up to what GetFeed serves: commands over gRPC, the projection workers with the real
 * activities, then the operations and query servers on real ports, for a member whose feed has pushed items,
 * items pulled from a followed popular author and second-degree discovery.
 */
describe('RebuildFeed counts pushed, pulled and discovery items (real servers)', function () {
  this.timeout(240_000);
  let h: QueryHarness;
  let connection: NativeConnection;
  let workers: RunningWorkers;
  let server: GrpcServer;
  let ops: ReturnType<typeof grpcClient<typeof OperationsService>>;
  const m: Record<string, string> = {};

  const wait = (receipt?: { eventId: string }) => h.projected(receipt?.eventId);
  const post = async (author: string, visibility = Visibility.PUBLIC) => {
    const res = await h.client.createPost({
      authorId: author,
      content: `by ${author}`,
      visibility,
      postType: PostType.TEXT,
    });
    await wait(res.receipt);
    return res.postId;
  };

  before(async () => {
    // Two followers make a popular author here, so Idol's posts reach followers at read time, not by push.
    h = await startQueryHarness({ PULL_AUTHOR_THRESHOLD: '1' });
    connection = await NativeConnection.connect({ address: h.stores.config.TEMPORAL_ADDRESS });
    workers = await runProjectionWorkers(connection, h.stores, h.prefix);
    server = await startOperationsServer({
      config: h.stores.config,
      db: h.stores.db,
      temporal: h.temporal,
      logger: createLogger('ops-test', 'error'),
      port: 0,
    });
    ops = grpcClient(OperationsService, server.port, 'dev-ops');

    for (const name of ['me', 'friend', 'idol', 'fan', 'fof']) m[name] = await h.register(name);
    const connect = async (a: string, b: string) => {
      const req = await h.client.requestConnection({ requesterId: a, addresseeId: b });
      await wait(
        (await h.client.respondToConnection({ addresseeId: b, connectionId: req.connectionId, accept: true })).receipt,
      );
    };
    await connect(m.me, m.friend);
    await connect(m.friend, m.fof);
    for (const follower of [m.me, m.fan])
      await wait((await h.client.follow({ followerId: follower, followeeId: m.idol })).receipt);
    // Pushed to Me: one own post and two of Friend's. Pulled: two of Idol's. Discovery: two of Fof's public posts
    // (Fof is Friend's connection); Fof's connections-only post never reaches Me.
    await post(m.me);
    await post(m.friend);
    await post(m.friend, Visibility.CONNECTIONS);
    await post(m.idol);
    await post(m.idol);
    await post(m.fof);
    await post(m.fof);
    await post(m.fof, Visibility.CONNECTIONS);
  });

  after(async () => {
    await server?.close();
    await workers?.stop();
    // Fan-outs and the rebuild hand scoring to the ranking queue, which nothing polls here.
    const query = `ExecutionStatus = "Running" AND TaskQueue = "${h.prefix}${TASK_QUEUES.ranking}"`;
    for await (const wf of h.temporal.workflow.list({ query })) {
      await h.temporal.workflow
        .getHandle(wf.workflowId, wf.runId)
        .terminate('test finished')
        .catch(() => undefined);
    }
    await connection?.close();
    await h?.close();
  });

  const scroll = async (noDiscovery: boolean) => {
    const reasons: FeedReason[] = [];
    let cursor = '';
    for (let page = 0; page < 50; page++) {
      const res = await h.feed.getFeed({
        viewerId: m.me,
        pageSize: 3,
        cursor,
        noDiscovery,
        view: FeedView.V3_PERSONALIZED,
      });
      reasons.push(...res.items.map((i) => i.reason));
      if (!res.nextCursor) return reasons;
      cursor = res.nextCursor;
    }
    throw new Error('too many pages');
  };
  const count = (reasons: FeedReason[], ...of: FeedReason[]) => reasons.filter((r) => of.includes(r)).length;

  it('reports pushed and read-time items separately, adding up to what GetFeed serves', async () => {
    const res = await ops.rebuildFeed({ userId: m.me });
    assert.deepEqual(
      { items: res.items, pulled: res.pulledItems, discovery: res.discoveryItems },
      { items: 3, pulled: 2, discovery: 2 },
    );
    const served = await scroll(false);
    assert.equal(served.length, res.items + res.pulledItems + res.discoveryItems);
    assert.equal(count(served, FeedReason.POPULAR_AUTHOR), res.pulledItems);
    assert.equal(count(served, FeedReason.SECOND_DEGREE), res.discoveryItems);
    assert.equal(count(served, FeedReason.OWN_POST, FeedReason.CONNECTION), res.items);
    const withoutDiscovery = await scroll(true);
    assert.equal(withoutDiscovery.length, res.items + res.pulledItems);

    // A second rebuild writes nothing and counts the same.
    const again = await ops.rebuildFeed({ userId: m.me });
    assert.deepEqual(
      [again.written, again.removed, again.items, again.pulledItems, again.discoveryItems],
      [0, 0, res.items, res.pulledItems, res.discoveryItems],
    );
  });
});
