import { strict as assert } from 'node:assert';
import type { temporal } from '@temporalio/proto';
import { NativeConnection } from '@temporalio/worker';
import { EngagementKind, PostType, Visibility } from '../../gen/feedflow/v1/common_pb';
import { readModel } from '../../stores/read-model';
import { startCommandHarness, type CommandHarness } from '../support/command';
import { seedAudience, seedPost } from '../support/projection';
import { type RunningWorkers, runProjectionWorkers } from '../support/workers';

/**
 * Round trips per projection, counted in the histories of real runs (commands over gRPC, the real activities):
 * Temporal charges one server round trip per workflow task and per activity, so the small case of every kind must
 * finish in at most 2 workflow tasks and 12 history events, with no child workflow (a child start costs the
 * starter a workflow task even when it succeeds, and the cap sweep's failed by design on almost every run).
 */
const MAX_EVENTS = 12;
const MAX_WORKFLOW_TASKS = 2;

type History = temporal.api.history.v1.IHistory;

function shape(history: History): { events: number; workflowTasks: number; children: number } {
  const events = history.events ?? [];
  return {
    events: events.length,
    workflowTasks: events.filter((e) => e.workflowTaskCompletedEventAttributes).length,
    children: events.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).length,
  };
}

describe('Projection economy: history events per small projection', function () {
  this.timeout(180_000);
  let h: CommandHarness;
  let connection: NativeConnection;
  let workers: RunningWorkers & { graph: Awaited<ReturnType<typeof runProjectionWorkers>>['graph'] };

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

  /** Waits for the event's projection to finish and returns the shape of its history. */
  async function projected(eventId: string) {
    await h.projected(eventId);
    return shape(await h.temporal.workflow.getHandle(await h.workflowIdOf(eventId)).fetchHistory());
  }

  it('projects every kind in at most 2 workflow tasks and 12 events, with no child workflow', async () => {
    const c = h.client;
    const [ann, bob] = [await h.register('Ann'), await h.register('Bob')];
    const followers = await seedAudience(workers.graph, ann, 499);
    const req = await c.requestConnection({ requesterId: ann, addresseeId: bob });
    const accepted = await c.respondToConnection({ addresseeId: bob, connectionId: req.connectionId, accept: true });
    // A backfill of 200 posts: Cal's last week, written as the command side writes them.
    const cal = await h.register('Cal');
    for (let i = 0; i < 200; i++) await seedPost(h.stores, cal, { at: new Date(Date.now() - i * 60_000) });
    const follow = await c.follow({ followerId: ann, followeeId: cal });
    const post = await c.createPost({
      authorId: ann,
      content: 'hi',
      visibility: Visibility.PUBLIC,
      postType: PostType.TEXT,
    });
    const kinds: Array<[string, string]> = [
      ['backfill (connection)', accepted.receipt!.eventId],
      ['backfill (follow, 200 posts)', follow.receipt!.eventId],
      ['fan-out (500 members)', post.receipt!.eventId],
    ];
    const results = new Map<string, Awaited<ReturnType<typeof projected>>>();
    for (const [kind, id] of kinds) results.set(kind, await projected(id));
    // The runs did their work: the post reached the author, Bob and 499 followers; Ann got Cal's 200 posts.
    const rm = readModel(h.stores.db);
    assert.equal(await rm.feedItems.countDocuments({ postId: post.postId }), 501);
    assert.equal(await rm.feedItems.countDocuments({ viewerId: ann, 'actor.id': cal }), 200);

    const update = await c.updatePost({ authorId: ann, postId: post.postId, content: 'hi!', expectedVersion: 1 });
    const profile = await c.updateProfile({ userId: ann, displayName: 'Ann B', expectedVersion: 1 });
    const like = await c.recordEngagement({ userId: bob, postId: post.postId, kind: EngagementKind.LIKE });
    const unfollow = await c.unfollow({ followerId: ann, followeeId: cal });
    const block = await c.block({ blockerId: bob, blockedId: ann });
    const del = await c.deletePost({ authorId: ann, postId: post.postId });
    for (const [kind, id] of [
      ['update', update.receipt!.eventId],
      ['profile rename', profile.receipt!.eventId],
      ['engagement', like.receipt!.eventId],
      ['purge (unfollow)', unfollow.receipt!.eventId],
      ['purge (block)', block.receipt!.eventId],
      ['delete', del.receipt!.eventId],
    ] as const) {
      results.set(kind, await projected(id));
    }

    assert.equal(await rm.feedItems.countDocuments({ postId: post.postId }), 0, 'purged on delete');
    assert.equal(await rm.feedItems.countDocuments({ viewerId: ann, 'actor.id': cal }), 0, 'purged on unfollow');
    assert.equal(followers.length, 499);

    const over = [...results].filter(
      ([, s]) => s.events > MAX_EVENTS || s.workflowTasks > MAX_WORKFLOW_TASKS || s.children > 0,
    );
    assert.deepEqual(over, [], JSON.stringify(Object.fromEntries(results)));
    assert.equal(results.size, 9);
  });
});
