import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Code } from '@connectrpc/connect';
import { Client as TemporalClient, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { CommandService } from '../../gen/feedflow/v1/command_pb';
import { EngagementKind, PostType, Visibility } from '../../gen/feedflow/v1/common_pb';
import { DiagnosticsService } from '../../gen/feedflow/v1/diagnostics_pb';
import { createLogger } from '../../lib/logger';
import type { ProjectionInput } from '../../pipeline/contracts/projection';
import { PROJECTIONS } from '../../pipeline/routing';
import { startCommandServer } from '../../services/command/server';
import { writeModel } from '../../stores/write-model';
import { startCommandHarness, type CommandHarness } from '../support/command';
import { codeOf, grpcClient } from '../support/grpc';
import { waitFor } from '../support/wait';

/** The hand-off's waits: a server start, a sweep. */
const HANDOFF_WAIT = { timeoutMs: 15_000, intervalMs: 100 };

async function startedInput(h: CommandHarness, workflowId: string): Promise<ProjectionInput> {
  const history = await h.temporal.workflow.getHandle(workflowId).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  assert.ok(payload, `workflow ${workflowId} has a start input`);
  return defaultPayloadConverter.fromPayload(payload);
}

describe('Durable hand-off to Temporal', function () {
  this.timeout(120_000);
  let h: CommandHarness;
  before(async () => {
    h = await startCommandHarness({ OUTBOX_SWEEP_AGE_MS: '1000' });
  });
  after(async () => h?.close());

  it('starts exactly one workflow per projected command, with the business id, type, queue and input', async () => {
    const c = h.client;
    const a = await h.register('Ann');
    const b = await h.register('Bob');
    const receipts: Array<{ eventId: string; expected: Partial<ProjectionInput> }> = [];
    const track = (eventId: string | undefined, expected: Partial<ProjectionInput>) =>
      receipts.push({ eventId: eventId ?? '', expected });

    const post = await c.createPost({
      authorId: a,
      content: 'hi',
      visibility: Visibility.PUBLIC,
      postType: PostType.TEXT,
    });
    track(post.receipt?.eventId, {
      type: 'PostCreated',
      aggregateId: post.postId,
      postId: post.postId,
      actorId: a,
      version: 1,
    });
    const upd = await c.updatePost({ authorId: a, postId: post.postId, content: 'hi!', expectedVersion: 1 });
    track(upd.receipt?.eventId, { type: 'PostUpdated', version: 2, postId: post.postId });
    const prof = await c.updateProfile({ userId: a, displayName: 'Ann B', expectedVersion: 1 });
    track(prof.receipt?.eventId, { type: 'ProfileUpdated', aggregateId: a, version: 2 });
    const conn = await c.requestConnection({ requesterId: a, addresseeId: b });
    const acc = await c.respondToConnection({ addresseeId: b, connectionId: conn.connectionId, accept: true });
    track(acc.receipt?.eventId, { type: 'ConnectionAccepted', aggregateId: conn.connectionId, actorId: b, version: 2 });
    const rem = await c.removeConnection({ userId: a, otherUserId: b });
    track(rem.receipt?.eventId, { type: 'ConnectionRemoved', actorId: a, subjectId: b, version: 3 });
    const fol = await c.follow({ followerId: a, followeeId: b });
    track(fol.receipt?.eventId, { type: 'Followed', actorId: a, subjectId: b, version: 1 });
    const unf = await c.unfollow({ followerId: a, followeeId: b });
    track(unf.receipt?.eventId, { type: 'Unfollowed', version: 2 });
    const eng = await c.recordEngagement({ userId: b, postId: post.postId, kind: EngagementKind.LIKE });
    track(eng.receipt?.eventId, { type: 'EngagementRecorded', actorId: b, postId: post.postId });
    const blk = await c.block({ blockerId: b, blockedId: a });
    track(blk.receipt?.eventId, { type: 'Blocked', actorId: b, subjectId: a });
    const unb = await c.unblock({ blockerId: b, blockedId: a });
    track(unb.receipt?.eventId, { type: 'Unblocked', actorId: b, subjectId: a, version: 2 });
    const del = await c.deletePost({ authorId: a, postId: post.postId });
    track(del.receipt?.eventId, { type: 'PostDeleted', version: 3 });

    // Each command answered at its commit; the starts follow behind the answers.
    await h.server.drain();
    assert.match(post.receipt?.eventId ?? '', /^post\/p[0-9a-f]{20}\/v1\/created$/);
    assert.equal(del.receipt?.eventId, `post/${post.postId}/v3/deleted`);
    for (const { eventId, expected } of receipts) {
      const route = PROJECTIONS[expected.type!]!;
      const ev = await writeModel(h.stores.db).events.findOne({ _id: eventId });
      // The route stored at commit: the deployment's prefix, the event id and the event's time.
      const workflowId = `${h.prefix}${eventId}:${ev!.at.getTime().toString(36)}`;
      assert.equal(ev?.workflowId, workflowId);
      const desc = await h.temporal.workflow.getHandle(workflowId).describe();
      assert.equal(desc.type, route.workflowType, eventId);
      assert.equal(desc.taskQueue, h.prefix + (route.queue === 'priority' ? 'projection-priority' : 'projection'));
      const input = await startedInput(h, workflowId);
      assert.equal(input.eventId, eventId);
      for (const [k, v] of Object.entries(expected))
        assert.deepEqual(input[k as keyof ProjectionInput], v, `${eventId} ${k}`);
      assert.equal((await writeModel(h.stores.db).events.findOne({ _id: eventId }))?.status, 'started');
    }
    // Audit-only events start nothing.
    const requested = await writeModel(h.stores.db).events.findOne({
      type: 'ConnectionRequested',
      aggregateId: conn.connectionId,
    });
    assert.equal(requested?.status, 'none');
    assert.equal(requested?.workflowId, undefined);
  });

  it('sets the search attributes operators find fan-outs by', async () => {
    const a = await h.register();
    const id = await h.post(a);
    await h.server.drain();
    const desc = await h.temporal.workflow.getHandle(await h.workflowIdOf(`post/${id}/v1/created`)).describe();
    const sa = desc.searchAttributes as Record<string, unknown[]>;
    assert.deepEqual(sa.PostId, [id]);
    assert.deepEqual(sa.AuthorId, [a]);
    assert.deepEqual(sa.FeedOperation, ['fanout']);
  });

  it('turns 50 concurrent identical CreatePost retries into one post, one event and one workflow', async () => {
    const a = await h.register();
    const req = {
      authorId: a,
      content: 'storm',
      visibility: Visibility.PUBLIC,
      postType: PostType.TEXT,
      requestId: 'storm-1',
    };
    const answers = await Promise.all(Array.from({ length: 50 }, () => h.client.createPost(req)));
    const ids = new Set(answers.map((r) => r.postId));
    assert.equal(ids.size, 1);
    const [postId] = [...ids];
    const wm = writeModel(h.stores.db);
    assert.equal(await wm.posts.countDocuments({ authorId: a }), 1);
    assert.equal(await wm.events.countDocuments({ aggregateId: postId }), 1);
    assert.equal(answers.filter((r) => !r.receipt?.replayed).length, 1, 'exactly one original answer');
    await h.server.drain();
    const runs = [];
    const workflowId = await h.workflowIdOf(`post/${postId}/v1/created`);
    for await (const wf of h.temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(wf);
    assert.equal(runs.length, 1);
  });

  it('answers commands while Temporal is unreachable, and the sweep starts their projections later', async () => {
    // A second command server on the same database whose Temporal address answers nothing.
    const dead = new TemporalClient({ connection: Connection.lazy({ address: '127.0.0.1:1', connectTimeout: 200 }) });
    const cut = await startCommandServer({
      config: { ...h.stores.config, GRPC_DRAIN_TIMEOUT_MS: 1000 },
      db: h.stores.db,
      temporal: dead,
      logger: createLogger('command-test', 'silent'),
      port: 0,
    });
    try {
      const client = grpcClient(CommandService, cut.port, 'dev-commands');
      const a = await h.register();
      const posts = await Promise.all(
        [1, 2, 3].map((n) =>
          client.createPost({
            authorId: a,
            content: `cut off ${n}`,
            visibility: Visibility.PUBLIC,
            postType: PostType.TEXT,
          }),
        ),
      );
      const wm = writeModel(h.stores.db);
      for (const p of posts) {
        assert.equal((await wm.posts.findOne({ _id: p.postId }))?.content.startsWith('cut off'), true);
        assert.equal((await wm.events.findOne({ _id: p.receipt!.eventId }))?.status, 'pending');
      }
      // Temporal "comes back": the outbox sweep (here through the healthy server) starts every one, once.
      await wm.events.updateMany({ aggregateId: { $in: posts.map((p) => p.postId) } }, { $set: { at: new Date(0) } });
      assert.equal(await h.server.sweep(0), 3);
      for (const p of posts) {
        const workflowId = await h.workflowIdOf(p.receipt!.eventId);
        assert.equal((await h.temporal.workflow.getHandle(workflowId).describe()).type, 'fanoutPostWorkflow');
        assert.equal((await wm.events.findOne({ _id: p.receipt!.eventId }))?.status, 'started');
      }
    } finally {
      // The dead client's retries end with the server's hand-off; closing its channel under them would throw.
      await cut.close();
    }
  });

  it('treats a second start of the same workflow id as harmless', async () => {
    const a = await h.register();
    const id = await h.post(a);
    await h.server.drain();
    const ev = await writeModel(h.stores.db).events.findOne({ aggregateId: id });
    await writeModel(h.stores.db).events.updateOne({ _id: ev!._id }, { $set: { status: 'pending', at: new Date(0) } });
    assert.ok((await h.server.sweep(0)) >= 1);
    const runs = [];
    // The sweep starts it under the stored id, not one worked out again from the event's (changed) time.
    for await (const wf of h.temporal.workflow.list({ query: `WorkflowId = '${ev!.workflowId}'` })) runs.push(wf);
    assert.equal(runs.length, 1);
  });

  it('does not lose a projection when the process dies between the write-model commit and the workflow start', async () => {
    const a = await h.register();
    const port = 20000 + Math.floor(Math.random() * 20000);
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', 'services/command/server.ts'], {
      env: {
        ...process.env,
        COMMAND_PORT: String(port),
        COMMAND_METRICS_PORT: '0',
        MONGODB_DB: h.stores.config.MONGODB_DB,
        TASK_QUEUE_PREFIX: h.prefix,
        FAULT_INJECTION: 'exit-after-commit',
        // The crash comes before any start; the first-hop workers would only slow the start-up.
        FIRST_HOP_WORKERS: 'false',
        LOG_LEVEL: 'silent',
      },
      stdio: 'ignore',
    });
    const exited = once(child, 'exit');
    const doomed = grpcClient(CommandService, port, 'dev-commands');
    const probe = grpcClient(DiagnosticsService, port, 'dev-commands');
    await waitFor(() => probe.echo({ message: 'up?' }), { message: 'the doomed server to listen', ...HANDOFF_WAIT });
    const code = await codeOf(
      doomed.createPost({
        authorId: a,
        content: 'survives a crash',
        visibility: Visibility.PUBLIC,
        postType: PostType.TEXT,
        requestId: 'crash-1',
      }),
    );
    assert.ok(
      [Code.Unavailable, Code.Internal, Code.Unknown, Code.Canceled].includes(code),
      `call failed with ${code}`,
    );
    const [exitCode] = await exited;
    assert.equal(exitCode, 137, 'the process died at the injected fault');

    const wm = writeModel(h.stores.db);
    const post = await wm.posts.findOne({ authorId: a });
    assert.ok(post, 'the write model was committed before the crash');
    const eventId = `post/${post._id}/v1/created`;
    assert.equal((await wm.events.findOne({ _id: eventId }))?.status, 'pending');
    const workflowId = await h.workflowIdOf(eventId);
    await assert.rejects(h.temporal.workflow.getHandle(workflowId).describe(), WorkflowNotFoundError);

    // A sweep starts it: the outbox Schedule's, run here once through the surviving server's hook.
    await h.server.sweep(0);
    const desc = await waitFor(() => h.temporal.workflow.getHandle(workflowId).describe(), {
      message: 'the swept workflow',
      ...HANDOFF_WAIT,
    });
    assert.equal(desc.type, 'fanoutPostWorkflow');
    await waitFor(async () => (await wm.events.findOne({ _id: eventId }))?.status === 'started', {
      message: 'status started',
      ...HANDOFF_WAIT,
    });

    // The client's retry with the same request id gets the original answer.
    const retry = await h.client.createPost({
      authorId: a,
      content: 'survives a crash',
      visibility: Visibility.PUBLIC,
      postType: PostType.TEXT,
      requestId: 'crash-1',
    });
    assert.equal(retry.postId, post._id);
    assert.equal(retry.receipt?.replayed, true);
  });
});
