import { strict as assert } from 'node:assert';
import { Code, ConnectError } from '@connectrpc/connect';
import { NativeConnection } from '@temporalio/worker';
import { PostType, Visibility } from '../../gen/feedflow/v1/common_pb';
import { readModel } from '../../stores/read-model';
import { writeModel } from '../../stores/write-model';
import { startCommandHarness, type CommandHarness } from '../support/command';
import { startPrivateStack, type PrivateStack, type StackServer } from '../support/private-stack';
import { seedAudience } from '../support/projection';
import { waitFor } from '../support/wait';
import { runProjectionWorkers } from '../support/workers';

const AUDIENCE = 2_000;

/**
 * kill -9 of PostgreSQL, then of FerretDB, while a post fans out to 2,000 followers, on servers of the suite's own.
 * Commands sent during the outage are refused with UNAVAILABLE or accepted; once the server is back every accepted
 * post reaches every feed exactly once, and nothing refused was projected.
 */
describe('Fan-out through a store killed with kill -9 (private PostgreSQL and FerretDB)', function () {
  this.timeout(300_000);
  let stack: PrivateStack;
  let h: CommandHarness;
  let connection: NativeConnection;
  let workers: Awaited<ReturnType<typeof runProjectionWorkers>>;
  const seeded: string[] = [];
  before(async () => {
    stack = await startPrivateStack(['postgres', 'ferretdb']);
    h = await startCommandHarness({ ...stack.env, PULL_AUTHOR_THRESHOLD: '10000000' });
    connection = await NativeConnection.connect({ address: h.stores.config.TEMPORAL_ADDRESS });
    workers = await runProjectionWorkers(connection, h.stores, h.prefix, { FANOUT_PAGE_SIZE: 100 });
  });
  after(async () => {
    await stack?.up('postgres', 'ferretdb').catch(() => undefined);
    await workers?.graph.removeUsers(seeded).catch(() => undefined);
    await workers?.stop();
    await connection?.close();
    await h?.close();
    await stack?.close();
  });

  const createPost = (authorId: string, content: string) =>
    h.client.createPost(
      { authorId, content, visibility: Visibility.PUBLIC, postType: PostType.TEXT },
      { timeoutMs: 3000 },
    );

  for (const server of ['postgres', 'ferretdb'] as StackServer[]) {
    it(`projects every accepted post exactly once when ${server} is killed mid fan-out`, async () => {
      const author = await h.register('Author');
      seeded.push(author, ...(await seedAudience(workers.graph, author, AUDIENCE)));
      const items = readModel(h.stores.db).feedItems;
      const first = (await createPost(author, 'before the outage')).postId;
      await waitFor(async () => (await items.countDocuments({ postId: first })) >= 300, {
        message: 'a few pages',
      });

      await stack.kill(server);
      const accepted = [first];
      let refused = 0;
      for (let i = 0; i < 5; i++) {
        try {
          accepted.push((await createPost(author, `during the outage ${i}`)).postId);
        } catch (err) {
          assert.equal(Code[ConnectError.from(err).code], Code[Code.Unavailable]);
          refused++;
        }
      }
      await stack.up(server);

      for (const postId of accepted) {
        await waitFor(async () => (await items.countDocuments({ postId })) === AUDIENCE + 1, {
          message: `post ${postId} in every feed`,
          timeoutMs: 180_000,
        });
      }
      const posts = await writeModel(h.stores.db).posts.find({ authorId: author }).toArray();
      assert.deepEqual(posts.map((p) => p._id).sort(), [...accepted].sort(), `${refused} refused, none stored`);
      for (const postId of accepted) {
        const viewers = await items.distinct('viewerId', { postId });
        assert.equal(viewers.length, AUDIENCE + 1);
        assert.equal(await items.countDocuments({ postId }), AUDIENCE + 1);
      }
    });
  }
});
