import { strict as assert } from 'node:assert';
import { Code, ConnectError } from '@connectrpc/connect';
import { EngagementKind, PostType, Visibility } from '../gen/feedflow/v1/common_pb';
import type { GrpcServer } from '../services/shared/grpc-server';
import { type OpsClient, startOps } from './support/ops';
import { type QueryHarness, startQueryHarness } from './support/query';

/** The status and message a call fails with; fails the test if the call succeeds. */
async function refusal(call: Promise<unknown>): Promise<{ code: Code; message: string }> {
  try {
    await call;
  } catch (err) {
    assert.ok(err instanceof ConnectError, `expected a ConnectError, got ${String(err)}`);
    return { code: err.code, message: err.rawMessage };
  }
  assert.fail('expected the call to fail');
}

async function assertInvalid(call: Promise<unknown>, message: RegExp, what: string): Promise<void> {
  const r = await refusal(call);
  assert.equal(Code[r.code], 'InvalidArgument', `${what}: ${Code[r.code]} ${r.message}`);
  assert.match(r.message, message, what);
}

/**
 * Input no store can hold, or no Temporal call can take, is the caller's mistake: INVALID_ARGUMENT with a message
 * naming the field, on the command, query and operations servers over real gRPC ports.
 */
describe('bad input answers INVALID_ARGUMENT, never INTERNAL (real servers)', function () {
  this.timeout(120_000);
  let h: QueryHarness;
  let server: GrpcServer;
  let ops: OpsClient;
  let ann: string;
  let postId: string;

  before(async () => {
    h = await startQueryHarness();
    ({ server, ops } = await startOps(h, 'bad-input-test'));
    ann = await h.register('Ann');
    postId = await h.post(ann);
  });
  after(async () => {
    await server?.close();
    await h?.close();
  });

  it('refuses a NUL character in any free-text field, naming the field', async () => {
    const c = h.client;
    const post = { authorId: ann, visibility: Visibility.PUBLIC, postType: PostType.TEXT };
    const cases: Array<[string, RegExp, () => Promise<unknown>]> = [
      ['display name', /display_name/, () => c.registerUser({ email: 'nul@example.com', displayName: 'A\0n' })],
      [
        'headline',
        /headline/,
        () => c.registerUser({ email: 'nul2@example.com', displayName: 'Ann', headline: 'x\0' }),
      ],
      ['profile', /headline/, () => c.updateProfile({ userId: ann, expectedVersion: 1, headline: '\0' })],
      ['content', /content/, () => c.createPost({ ...post, content: 'hello\0world' })],
      ['edit', /content/, () => c.updatePost({ authorId: ann, postId, content: '\0edited' })],
      [
        'comment',
        /comment/,
        () => c.recordEngagement({ userId: ann, postId, kind: EngagementKind.COMMENT, comment: 'a\0' }),
      ],
      ['request id', /request_id/, () => c.createPost({ ...post, content: 'ok', requestId: 'r\0' })],
      ['search', /query/, () => h.feed.searchPosts({ viewerId: ann, query: 'hel\0lo' })],
      ['pause note', /note/, () => ops.pauseSchedules({ note: 'maintenance\0' })],
      ['resume note', /note/, () => ops.resumeSchedules({ note: '\0' })],
      ['failure filter', /failure_contains/, () => ops.listFailedProjections({ filter: { failureContains: 'x\0' } })],
    ];
    for (const [what, field, call] of cases) await assertInvalid(call(), new RegExp(`${field.source}.*NUL`), what);
  });

  it('refuses timestamps outside years 1 to 9999 in a failed-projection filter', async () => {
    for (const seconds of [-62_135_596_801n, 253_402_300_800n, 9_000_000_000_000_000n, -9_000_000_000_000_000n]) {
      await assertInvalid(
        ops.listFailedProjections({ filter: { closedAfter: { seconds } } }),
        /closed_after.*years 1 to 9999/,
        String(seconds),
      );
    }
    await assertInvalid(
      ops.listFailedProjections({ filter: { closedBefore: { seconds: 0n, nanos: -1 } } }),
      /closed_before/,
      'negative nanos',
    );
    const ok = await ops.listFailedProjections({ filter: { closedAfter: { seconds: -62_135_596_800n } } });
    assert.equal(ok.projections.length, 0);
  });

  it('refuses schedule notes of 1 KiB or more', async () => {
    await assertInvalid(ops.pauseSchedules({ note: 'n'.repeat(1024) }), /note.*1024/, 'pause');
    await assertInvalid(ops.resumeSchedules({ note: 'é'.repeat(512) }), /note.*1024/, 'resume (bytes, not chars)');
  });

  it('refuses run ids that are not UUIDs', async () => {
    const workflowId = 'some/workflow';
    for (const runId of ['abc', '0', '-', 'deadbeef', '123e4567-e89b-12d3-a456-42661417400', 'x'.repeat(36)]) {
      await assertInvalid(ops.getOperation({ workflowId, runId }), /run_id.*UUID/, runId);
    }
    const missing = await refusal(ops.getOperation({ workflowId, runId: '123e4567-e89b-12d3-a456-426614174000' }));
    assert.equal(Code[missing.code], 'NotFound');
  });
});
