import assert from 'node:assert/strict';
import type { Client } from '@connectrpc/connect';
import type { Client as TemporalClient } from '@temporalio/client';
import { eventWorkflowId, type EventWorkflowKind } from '../../domain/events';
import { CommandService } from '../../gen/feedflow/v1/command_pb';
import { PostType, Visibility } from '../../gen/feedflow/v1/common_pb';
import { connectTemporal } from '../../lib/clients';
import { createLogger } from '../../lib/logger';
import { startCommandServer, type CommandServer } from '../../services/command/server';
import { writeModel } from '../../stores/write-model';
import { openStores, uniqueId, type TestStores } from './env';
import { grpcClient } from './grpc';

export interface CommandHarness {
  stores: TestStores;
  temporal: TemporalClient;
  server: CommandServer;
  client: Client<typeof CommandService>;
  /** Task-queue prefix: no worker polls it, so started workflows stay put for inspection. */
  prefix: string;
  register(name?: string): Promise<string>;
  /**
   * The result of the projection a command's event started. Commands answer before their workflow starts (the
   * hand-off starts it behind the answer), so this first waits for the server's starts in flight.
   */
  projected<R = unknown>(eventId: string | undefined, kind?: EventWorkflowKind): Promise<R>;
  /** The id of the workflow that projects (or indexes) the event, from the route stored on the event. */
  workflowIdOf(eventId: string | undefined, kind?: EventWorkflowKind): Promise<string>;
  post(authorId: string, opts?: { visibility?: Visibility; requestId?: string; content?: string }): Promise<string>;
  close(): Promise<void>;
}

/** A command server in this process on a free port, over a fresh database, with a gRPC client to it. */
export async function startCommandHarness(env: Record<string, string> = {}): Promise<CommandHarness> {
  const prefix = uniqueId('cmdtest-') + '-';
  const stores = await openStores({ TASK_QUEUE_PREFIX: prefix, RATE_LIMITS_ENABLED: 'false', ...env });
  const temporal = await connectTemporal(stores.config);
  const server = await startCommandServer({
    config: stores.config,
    db: stores.db,
    temporal,
    logger: createLogger('command-test', 'silent'),
    port: 0,
  });
  const client = grpcClient(CommandService, server.port, 'dev-commands');
  const h: CommandHarness = {
    stores,
    temporal,
    server,
    client,
    prefix,
    async projected(eventId, kind = 'projection') {
      await server.drain();
      return h.temporal.workflow.getHandle(await h.workflowIdOf(eventId, kind)).result();
    },
    async workflowIdOf(eventId, kind = 'projection') {
      const ev = await writeModel(stores.db).events.findOne({ _id: eventId! });
      assert.ok(ev?.workflowId, `event ${eventId} has no projection workflow`);
      return kind === 'search' ? eventWorkflowId(stores.config.TASK_QUEUE_PREFIX, ev._id, ev.at, kind) : ev.workflowId;
    },
    async register(name = 'Member') {
      const res = await client.registerUser({ email: `${uniqueId('m')}@example.com`, displayName: name });
      return res.userId;
    },
    async post(authorId, opts = {}) {
      const res = await client.createPost({
        authorId,
        content: opts.content ?? `hello from ${authorId}`,
        visibility: opts.visibility ?? Visibility.PUBLIC,
        postType: PostType.TEXT,
        requestId: opts.requestId ?? '',
      });
      return res.postId;
    },
    async close() {
      await server.close();
      // Nothing polls the test queue; end the workflows the suite started so the dev server stays tidy.
      const events = await writeModel(stores.db)
        .events.find({ workflowId: { $exists: true } })
        .toArray();
      await Promise.allSettled(
        events.flatMap((e) =>
          [e.workflowId!, eventWorkflowId(stores.config.TASK_QUEUE_PREFIX, e._id, e.at, 'search')].map((id) =>
            temporal.workflow.getHandle(id).terminate('command test finished'),
          ),
        ),
      );
      await temporal.connection.close();
      await stores.close();
    },
  };
  return h;
}
