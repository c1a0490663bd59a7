import { strict as assert } from 'node:assert';
import { NativeConnection } from '@temporalio/worker';
import { EngagementKind, Visibility } from '../../gen/feedflow/v1/common_pb';
import { progressQuery } from '../../pipeline/contracts/projection';
import { readModel } from '../../stores/read-model';
import { writeModel } from '../../stores/write-model';
import { startCommandHarness, type CommandHarness } from '../support/command';
import { feedOf } from '../support/projection';
import { runProjectionWorkers, type RunningWorkers } from '../support/workers';

/**
 * End to end over gRPC: commands through the real CommandService, projections on real workers (both queues) with
 * the real activities, into the real read model and graph. Every member's feed is checked exactly after each step.
 */
describe('Projection pipeline end to end (gRPC commands, real workers)', function () {
  this.timeout(180_000);
  let h: CommandHarness;
  let connection: NativeConnection;
  let workers: RunningWorkers;
  const settled = new Set<string>();

  before(async () => {
    h = await startCommandHarness();
    connection = await NativeConnection.connect({ address: h.stores.config.TEMPORAL_ADDRESS });
    workers = await runProjectionWorkers(connection, h.stores, h.prefix);
  });
  after(async () => {
    await workers?.stop();
    await connection?.close();
    await h?.close();
  });

  /** Waits for every projection started so far; fails if any failed. */
  async function settle(): Promise<void> {
    const events = await writeModel(h.stores.db)
      .events.find({ workflowId: { $exists: true } }, { projection: { _id: 1 } })
      .toArray();
    const open = events.map((e) => e._id).filter((id) => !settled.has(id));
    await Promise.all(open.map((id) => h.projected(id)));
    open.forEach((id) => settled.add(id));
  }

  const c = () => h.client;
  const post = async (author: string, visibility: Visibility, content = 'hello') => {
    const res = await c().createPost({ authorId: author, content, visibility, postType: 1 });
    return res.postId;
  };
  const connect = async (requester: string, addressee: string) => {
    const req = await c().requestConnection({ requesterId: requester, addresseeId: addressee });
    await c().respondToConnection({ addresseeId: addressee, connectionId: req.connectionId, accept: true });
  };
  const feeds = async (members: Record<string, string>) => {
    const out: Record<string, string[]> = {};
    for (const [name, id] of Object.entries(members)) out[name] = await feedOf(h.stores, id);
    return out;
  };

  it('projects a network with every relationship kind exactly, through edit, delete, backfill, purge and rename', async () => {
    const m = {
      ann: await h.register('Ann'), // the author
      con: await h.register('Con'), // connected
      fan: await h.register('Fan'), // follows Ann
      both: await h.register('Both'), // connected and follows
      xav: await h.register('Xav'), // connected, later blocked
      pen: await h.register('Pen'), // connection request still pending
      dec: await h.register('Dec'), // connection request declined
      idol: await h.register('Idol'), // followed BY Ann: sees nothing of hers
      str: await h.register('Str'), // no relationship
    };
    await connect(m.con, m.ann);
    await c().follow({ followerId: m.fan, followeeId: m.ann });
    await connect(m.ann, m.both);
    await c().follow({ followerId: m.both, followeeId: m.ann });
    await connect(m.xav, m.ann);
    await c().requestConnection({ requesterId: m.pen, addresseeId: m.ann });
    const declined = await c().requestConnection({ requesterId: m.dec, addresseeId: m.ann });
    await c().respondToConnection({ addresseeId: m.ann, connectionId: declined.connectionId, accept: false });
    await c().follow({ followerId: m.ann, followeeId: m.idol });
    await settle();

    const pub = await post(m.ann, Visibility.PUBLIC, 'public');
    const con = await post(m.ann, Visibility.CONNECTIONS, 'connections only');
    const priv = await post(m.ann, Visibility.PRIVATE, 'private');
    const xp = await post(m.xav, Visibility.PUBLIC, 'from xav');
    await settle();
    const v = (id: string, version = 1) => `${id}@${version}`;
    assert.deepEqual(await feeds(m), {
      ann: [v(pub), v(con), v(priv), v(xp)].sort(),
      con: [v(pub), v(con)].sort(),
      fan: [v(pub)],
      both: [v(pub), v(con)].sort(),
      xav: [v(pub), v(con), v(xp)].sort(),
      pen: [],
      dec: [],
      idol: [],
      str: [],
    });
    const rm = readModel(h.stores.db);
    const bothPub = await rm.feedItems.findOne({ _id: `${m.both}:${pub}` });
    assert.equal(bothPub?.reason, 'connection');
    assert.equal((await rm.feedItems.findOne({ _id: `${m.fan}:${pub}` }))?.reason, 'follow');
    assert.equal((await rm.feedItems.findOne({ _id: `${m.ann}:${pub}` }))?.reason, 'own');
    const event = await writeModel(h.stores.db).events.findOne({ aggregateId: pub, type: 'PostCreated' });
    assert.equal(bothPub?.acceptedAt.getTime(), event?.at.getTime());
    assert.ok(bothPub!.projectedAt >= bothPub!.acceptedAt);

    // Operators find the fan-out of a post by its search attributes, and can ask it for its progress.
    const found = [];
    for await (const wf of h.temporal.workflow.list({ query: `PostId = '${pub}' AND FeedOperation = 'fanout'` })) {
      found.push(wf.workflowId);
    }
    assert.deepEqual(found, [event!.workflowId]);
    const progress = await h.temporal.workflow.getHandle(event!.workflowId!).query(progressQuery);
    assert.deepEqual(progress, { pagesDone: 1, itemsWritten: 5, cursor: null, audienceSize: 4, done: true });

    // Edit: every copy moves to version 2.
    await c().updatePost({ authorId: m.ann, postId: pub, content: 'public, edited', expectedVersion: 1 });
    await settle();
    for (const id of [m.ann, m.con, m.fan, m.both, m.xav]) {
      const item = await rm.feedItems.findOne({ _id: `${id}:${pub}` });
      assert.deepEqual([item?.version, item?.content], [2, 'public, edited'], id);
    }

    // Delete (priority queue): tombstone and purge.
    await c().deletePost({ authorId: m.ann, postId: con, expectedVersion: 1 });
    await settle();
    assert.equal(await rm.feedItems.countDocuments({ postId: con }), 0);
    assert.equal((await rm.postSummaries.findOne({ _id: con }))?.deleted, true);

    // Backfill: a new follower gets Ann's recent public posts; connecting later adds the rest, both ways.
    const neu = await h.register('Neu');
    const neuPost = await post(neu, Visibility.CONNECTIONS, 'neu, connections only');
    await c().follow({ followerId: neu, followeeId: m.ann });
    await settle();
    assert.deepEqual(await feedOf(h.stores, neu), [v(neuPost), v(pub, 2)].sort());
    const con2 = await post(m.ann, Visibility.CONNECTIONS, 'second connections post');
    await settle();
    assert.deepEqual(await feedOf(h.stores, neu), [v(neuPost), v(pub, 2)].sort());
    await connect(neu, m.ann);
    await settle();
    assert.deepEqual(await feedOf(h.stores, neu), [v(neuPost), v(pub, 2), v(con2)].sort());
    assert.ok((await feedOf(h.stores, m.ann)).includes(v(neuPost)));
    assert.equal((await rm.feedItems.findOne({ _id: `${neu}:${con2}` }))?.reason, 'backfill');

    // Unfollow: the follower loses everything; removing a connection keeps public posts for one who follows.
    await c().unfollow({ followerId: m.fan, followeeId: m.ann });
    await c().removeConnection({ userId: m.both, otherUserId: m.ann });
    await settle();
    assert.deepEqual(await feedOf(h.stores, m.fan), []);
    assert.deepEqual(await feedOf(h.stores, m.both), [v(pub, 2)]);

    // Block: both feeds lose the other's posts, and the graph keeps them apart from now on.
    await c().block({ blockerId: m.ann, blockedId: m.xav });
    await settle();
    assert.deepEqual(await feedOf(h.stores, m.xav), [v(xp)]);
    assert.ok(!(await feedOf(h.stores, m.ann)).includes(v(xp)));
    const afterBlock = await post(m.ann, Visibility.PUBLIC, 'after the block');
    await settle();
    assert.deepEqual(await feedOf(h.stores, m.xav), [v(xp)]);
    assert.ok((await feedOf(h.stores, m.con)).includes(v(afterBlock)));

    // Rename: every item by Ann shows her new name.
    await c().updateProfile({ userId: m.ann, displayName: 'Ann Renamed', expectedVersion: 1 });
    await settle();
    const names = await rm.feedItems.distinct('actor.name', { 'actor.id': m.ann });
    assert.deepEqual(names, ['Ann Renamed']);

    // Engagement: counters land on the post's summary.
    await c().recordEngagement({ userId: m.con, postId: pub, kind: EngagementKind.LIKE });
    await c().recordEngagement({ userId: neu, postId: pub, kind: EngagementKind.SHARE });
    await settle();
    const summary = await rm.postSummaries.findOne({ _id: pub });
    assert.deepEqual(summary?.engagement, { likes: 1, comments: 0, shares: 1, views: 0 });

    // The final state, member by member.
    assert.deepEqual(await feeds({ ...m, neu }), {
      ann: [v(pub, 2), v(priv), v(neuPost), v(con2), v(afterBlock)].sort(),
      con: [v(pub, 2), v(con2), v(afterBlock)].sort(),
      fan: [],
      both: [v(pub, 2), v(afterBlock)].sort(),
      xav: [v(xp)],
      pen: [],
      dec: [],
      idol: [],
      str: [],
      neu: [v(neuPost), v(pub, 2), v(con2), v(afterBlock)].sort(),
    });
    const counts = await h.stores.db.collection('network_summaries').findOne({ _id: m.ann as never });
    assert.deepEqual([counts?.connections, counts?.followers, counts?.following], [2, 2, 1]);
  });
});
