/**
 * The scripted demo story, run by scripts/demo.sh once the stack, workers and services are up. Every command
 * carries a request id, so running the demo again replays instead of duplicating.
 */
import { CommandService } from '../gen/feedflow/v1/command_pb';
import { DiagnosticsService } from '../gen/feedflow/v1/diagnostics_pb';
import { PostType, Visibility } from '../gen/feedflow/v1/common_pb';
import { loadConfig } from '../lib/config';
import { connectMongo, connectTemporal } from '../lib/clients';
import { TASK_QUEUES } from '../workflows/shared';
import { grpcClient } from '../test/support/grpc';

const config = loadConfig();
const t0 = Date.now();
const log = (msg: string): void => console.log(`[demo +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);

async function waitForServer(): Promise<void> {
  const echo = grpcClient(DiagnosticsService, config.COMMAND_PORT, 'dev-commands');
  for (let i = 0; i < 300; i++) {
    if (
      await echo.echo({ message: 'ready?' }).then(
        () => true,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`command service did not answer on :${config.COMMAND_PORT}; see .stack/logs/command.log`);
}

async function main(): Promise<void> {
  await waitForServer();
  log(`command service up on 127.0.0.1:${config.COMMAND_PORT}`);
  const temporal = await connectTemporal(config);
  const { mongo, db } = await connectMongo(config);
  try {
    const ping = await temporal.workflow.execute('pingWorkflow', {
      taskQueue: config.TASK_QUEUE_PREFIX + TASK_QUEUES.projection,
      workflowId: `smoke/demo-${Date.now()}`,
      args: [{ message: `demo-${Date.now()}` }],
    });
    log(`smoke workflow ran on the projection worker: ${JSON.stringify(ping)}`);

    const c = grpcClient(CommandService, config.COMMAND_PORT, 'dev-commands');
    const member = async (key: string, name: string, headline: string) =>
      (
        await c.registerUser({
          email: `${key}@demo.feedflow.dev`,
          displayName: name,
          headline,
          requestId: `demo-user-${key}`,
        })
      ).userId;
    const ada = await member('ada', 'Ada Lovelace', 'Analyst');
    const grace = await member('grace', 'Grace Hopper', 'Compiler engineer');
    const alan = await member('alan', 'Alan Turing', 'Researcher');
    log(`members: ada=${ada} grace=${grace} alan=${alan}`);

    const conn = await c
      .requestConnection({ requesterId: ada, addresseeId: grace, requestId: 'demo-conn' })
      .catch(() => undefined);
    if (conn)
      await c.respondToConnection({
        addresseeId: grace,
        connectionId: conn.connectionId,
        accept: true,
        requestId: 'demo-accept',
      });
    await c.follow({ followerId: alan, followeeId: ada, requestId: 'demo-follow' }).catch(() => undefined);
    const post = await c.createPost({
      authorId: ada,
      content: 'The Analytical Engine weaves algebraic patterns just as the Jacquard loom weaves flowers.',
      visibility: Visibility.PUBLIC,
      postType: PostType.TEXT,
      requestId: 'demo-post-1',
    });
    log(`post ${post.postId} accepted: event ${post.receipt?.eventId} (replayed=${post.receipt?.replayed})`);

    const handle = temporal.workflow.getHandle(post.receipt!.eventId);
    const desc = await handle.describe();
    log(`projection workflow ${desc.workflowId} (${desc.type}) is ${desc.status.name}`);
    const events = await db
      .collection('events')
      .find({}, { projection: { _id: 1, status: 1 } })
      .sort({ at: 1 })
      .toArray();
    console.log('\n  event store (write side):');
    for (const e of events) console.log(`    ${String(e.status).padEnd(8)} ${e._id}`);
    console.log(`
  Temporal UI:   http://127.0.0.1:8233/namespaces/${config.TEMPORAL_NAMESPACE}/workflows
  Find this fan-out by typing the query:   PostId = "${post.postId}"
  Call the API:  .tools/bin/grpcurl -plaintext -H 'authorization: Bearer dev-commands' 127.0.0.1:${config.COMMAND_PORT} list
`);
  } finally {
    await mongo.close();
    await temporal.connection.close();
  }
}

main().catch((err) => {
  console.error(`[demo] failed: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
