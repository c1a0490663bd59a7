import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  Code,
  ConnectError,
  createCommandClient,
  createDiagnosticsClient,
  createFeedflowTransport,
  createOperationsClient,
  createQueryClient,
  FeedView,
  OperationState,
  PostType,
  Visibility,
} from '../../client';
import { createLogger } from '../../lib/logger';
import { startOperationsServer } from '../../services/operations/server';
import type { GrpcServer } from '../../services/shared/grpc-server';
import { uniqueId } from '../support/env';
import { startQueryHarness, type QueryHarness } from '../support/query';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../..');
const EXAMPLE = resolve(ROOT, 'client/grpc-js-example.mjs');

const codeOf = async (call: Promise<unknown>): Promise<Code> => {
  try {
    await call;
  } catch (err) {
    return ConnectError.from(err).code;
  }
  throw new Error('expected the call to fail');
};

/**
 * The typed clients of client/ and the README's grpc-js caller, against command, query and operations servers on
 * real ports (no workers poll their queues, so workflows they start stay running).
 */
describe('Clients for internal callers (real servers)', function () {
  this.timeout(120_000);
  let h: QueryHarness;
  let ops: GrpcServer;
  const address = (port: number) => `127.0.0.1:${port}`;

  before(async () => {
    h = await startQueryHarness();
    const logger = createLogger('client-test', 'silent');
    ops = await startOperationsServer({
      config: h.stores.config,
      db: h.stores.db,
      temporal: h.temporal,
      logger,
      port: 0,
    });
  });

  after(async () => {
    await ops?.close();
    await h?.close();
  });

  it('calls each service through its typed client with the token and a default deadline', async () => {
    const commands = createCommandClient({ address: address(h.server.port), token: 'dev-commands' });
    const { userId } = await commands.registerUser({ email: `${uniqueId('c')}@example.com`, displayName: 'Caller' });
    const created = await commands.createPost({
      authorId: userId,
      content: 'through the typed client',
      visibility: Visibility.PUBLIC,
      postType: PostType.TEXT,
    });
    assert.ok(created.receipt?.eventId.startsWith(`post/${created.postId}/v1/`));

    const feed = createQueryClient({ address: address(h.query.port), token: 'dev-queries' });
    const post = await feed.getPost({ postId: created.postId, viewerId: userId });
    assert.equal(post.post?.content, 'through the typed client');
    const page = await feed.getFeed({ viewerId: userId, pageSize: 5, view: FeedView.V1_BASIC });
    assert.ok(Array.isArray(page.items));

    // No worker runs the rebuild: the server answers within the client's default deadline, with the rebuild running.
    const operations = createOperationsClient({
      address: `http://${address(ops.port)}`,
      token: 'dev-ops',
      defaultTimeoutMs: 3_000,
    });
    const t0 = Date.now();
    const rebuild = await operations.rebuildFeed({ userId });
    assert.equal(rebuild.operation?.state, OperationState.RUNNING);
    assert.ok(Date.now() - t0 < 3_000, `answered after ${Date.now() - t0} ms`);
    assert.equal((await operations.getOperation({ workflowId: rebuild.workflowId })).operation?.kind, 'rebuild');
    await h.temporal.workflow.getHandle(rebuild.workflowId).terminate('client test finished');

    // Every server answers Echo to any token: how scripts wait for a server to listen.
    for (const [port, token] of [
      [h.server.port, 'dev-commands'],
      [ops.port, 'dev-queries'],
    ] as const) {
      const echo = await createDiagnosticsClient({ address: address(port), token }).echo({ message: 'up?' });
      assert.equal(echo.message, 'up?');
    }
  });

  it('sends the token it was given and enforces its deadline', async () => {
    const wrong = createQueryClient({ address: address(h.query.port), token: 'dev-commands' });
    assert.equal(await codeOf(wrong.getFeed({ viewerId: 'u1' })), Code.PermissionDenied);
    const unknown = createOperationsClient({ address: address(ops.port), token: 'not-a-token' });
    assert.equal(await codeOf(unknown.getProjectionStatus({})), Code.Unauthenticated);
    const hurried = createOperationsClient({ address: address(ops.port), token: 'dev-ops', defaultTimeoutMs: 1 });
    assert.equal(await codeOf(hurried.getProjectionStatus({})), Code.DeadlineExceeded);
    // A shared transport: one connection for clients of one address.
    const transport = createFeedflowTransport({ address: address(ops.port), token: 'dev-ops' });
    const status = await createOperationsClient(transport).getProjectionStatus({});
    assert.equal(status.outboxPending, 0);
    assert.throws(() => createCommandClient({ address: '', token: 'x' }), /address is required/);
  });

  it('calls from @grpc/grpc-js with the .proto files only, exactly as the README shows', async () => {
    const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
    assert.ok(readme.includes(readFileSync(EXAMPLE, 'utf8').trim()), 'the README shows client/grpc-js-example.mjs');
    const call = async (port: number, token: string, service: string, method: string, request: object) => {
      const { stdout } = await run(process.execPath, [
        EXAMPLE,
        address(port),
        token,
        service,
        method,
        JSON.stringify(request),
      ]);
      return JSON.parse(stdout) as Record<string, unknown>;
    };
    const email = `${uniqueId('g')}@example.com`;
    const reg = await call(h.server.port, 'dev-commands', 'feedflow.v1.CommandService', 'RegisterUser', {
      email,
      display_name: 'Grace',
    });
    const userId = reg.user_id as string;
    assert.match(userId, /\S/);
    const post = await call(h.server.port, 'dev-commands', 'feedflow.v1.CommandService', 'CreatePost', {
      author_id: userId,
      content: 'hello from grpc-js',
      visibility: 'VISIBILITY_PUBLIC',
      post_type: 'POST_TYPE_TEXT',
      request_id: 'grpc-js-1',
    });
    const got = await call(h.query.port, 'dev-queries', 'feedflow.v1.FeedService', 'GetPost', {
      post_id: post.post_id,
      viewer_id: userId,
    });
    assert.equal((got.post as { content: string }).content, 'hello from grpc-js');
    const failed = await run(process.execPath, [
      EXAMPLE,
      address(ops.port),
      'dev-queries',
      'feedflow.v1.OperationsService',
      'GetProjectionStatus',
    ]).catch((err: { code: number; stderr: string }) => err);
    assert.equal((failed as { code: number }).code, 1);
    assert.match((failed as { stderr: string }).stderr, /^PERMISSION_DENIED: caller "dev-reader" lacks/);
  });
});
