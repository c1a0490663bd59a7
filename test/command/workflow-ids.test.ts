import { strict as assert } from 'node:assert';
import { NativeConnection } from '@temporalio/worker';
import { PostType, Visibility } from '../../gen/feedflow/v1/common_pb';
import { startCommandHarness } from '../support/command';
import { testConfig, uniqueId } from '../support/env';
import { feedOf } from '../support/projection';
import { runProjectionWorkers } from '../support/workers';

/**
 * Event ids repeat: a member's id derives from their email, and a relationship's from its two members. A database
 * made again under the same name and prefix (the demo resets its database when its story changes) issues the same
 * event ids as the one before, whose projections finished long ago on the same Temporal namespace. Each must still
 * project in its own database.
 */
describe('Projection workflow ids: one per event and database', function () {
  this.timeout(180_000);
  let connection: NativeConnection;

  before(async () => {
    connection = await NativeConnection.connect({ address: testConfig().TEMPORAL_ADDRESS });
  });
  after(async () => {
    await connection?.close();
  });

  it('projects the same events again in a database made again under the same name and prefix', async () => {
    const prefix = uniqueId('wfid-') + '-';
    const database = uniqueId('feedflow_test_wfid_');
    const emails = [`${uniqueId('ann')}@example.com`, `${uniqueId('bob')}@example.com`];
    const rounds: Array<{ followEvent: string; workflowIds: string[] }> = [];
    for (const round of [1, 2]) {
      const startedAt = new Date();
      const h = await startCommandHarness({ MONGODB_DB: database, TASK_QUEUE_PREFIX: prefix });
      const workers = await runProjectionWorkers(connection, h.stores, prefix);
      try {
        const [ann, bob] = await Promise.all(
          emails.map(async (email) => {
            const res = await h.client.registerUser({ email, displayName: `Round ${round}` });
            await h.projected(res.receipt?.eventId);
            return { userId: res.userId, eventId: res.receipt!.eventId };
          }),
        );
        const post = await h.client.createPost({
          authorId: bob.userId,
          content: `round ${round}`,
          visibility: Visibility.PUBLIC,
          postType: PostType.TEXT,
        });
        await h.projected(post.receipt?.eventId);
        const follow = await h.client.follow({ followerId: ann.userId, followeeId: bob.userId });
        await h.projected(follow.receipt?.eventId);

        const events = [ann.eventId, bob.eventId, follow.receipt!.eventId];
        const workflowIds = await Promise.all(events.map((id) => h.workflowIdOf(id)));
        for (const id of workflowIds) {
          assert.ok(id.startsWith(prefix), `${id} carries the deployment's prefix`);
          const run = await h.temporal.workflow.getHandle(id).describe();
          assert.equal(run.status.name, 'COMPLETED', id);
          assert.ok(run.startTime >= startedAt, `${id} ran in round ${round}, not before it`);
        }
        // The follow's backfill ran in this database: Bob's post is in Ann's feed.
        assert.deepEqual(await feedOf(h.stores, ann.userId), [`${post.postId}@1`]);
        rounds.push({ followEvent: follow.receipt!.eventId, workflowIds });
      } finally {
        await workers.stop();
        await h.close(); // drops the database
      }
    }
    assert.equal(rounds[0].followEvent, rounds[1].followEvent, 'the second database issued the same event ids');
    for (const [i, id] of rounds[1].workflowIds.entries()) assert.notEqual(id, rounds[0].workflowIds[i]);
  });
});
