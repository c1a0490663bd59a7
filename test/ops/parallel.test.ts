import { strict as assert } from 'node:assert';
import { Code, type ConnectError } from '@connectrpc/connect';
import { OperationsService } from '../../gen/feedflow/v1/operations_pb';
import { createLogger } from '../../lib/logger';
import { SCHEDULES } from '../../pipeline/schedules';
import { startOperationsServer } from '../../services/operations/server';
import type { GrpcServer } from '../../services/shared/grpc-server';
import { ensureSchedules } from '../../workers/schedules';
import { type CommandHarness, startCommandHarness } from '../support/command';
import { grpcClient } from '../support/grpc';

// Interval schedules fire on multiples of their interval since the epoch: 30 days keeps them out of this suite.
const RARELY = String(30 * 24 * 3_600_000);
/** A generous client deadline: every call must answer inside it, however many run at once. */
const DEADLINE_MS = 5_000;
const PARALLEL = 16;
/** The schedules the operations service reports (the search check's included, when it exists). */
const SCHEDULE_IDS = Object.keys(SCHEDULES).length;

/** Each call's outcome as a code name, OK when it answered. */
async function codesOf(calls: Array<Promise<unknown>>): Promise<string[]> {
  return (await Promise.allSettled(calls)).map((r) =>
    r.status === 'fulfilled' ? 'OK' : Code[(r.reason as ConnectError).code] + ': ' + (r.reason as Error).message,
  );
}

/** The schedule controls and the status page under parallel callers: every one answers, inside its deadline. */
describe('OperationsService under 16 parallel callers (real servers)', function () {
  this.timeout(120_000);
  let h: CommandHarness;
  let server: GrpcServer;
  let ops: ReturnType<typeof grpcClient<typeof OperationsService>>;
  let schedules: string[] = [];
  let describes = 0;

  before(async () => {
    h = await startCommandHarness({
      CONSISTENCY_RECENT_INTERVAL_MS: RARELY,
      CONSISTENCY_DEEP_INTERVAL_MS: RARELY,
      OUTBOX_SCHEDULE_INTERVAL_MS: RARELY,
    });
    const config = h.stores.config;
    schedules = await ensureSchedules(h.temporal, config, createLogger('ops-test', 'silent'));
    // Count the schedule descriptions the server asks Temporal for.
    const getHandle = h.temporal.schedule.getHandle.bind(h.temporal.schedule);
    h.temporal.schedule.getHandle = (id: string) => {
      const handle = getHandle(id);
      const describe = handle.describe.bind(handle);
      handle.describe = () => {
        describes++;
        return describe();
      };
      return handle;
    };
    const logger = createLogger('ops-test', 'error');
    server = await startOperationsServer({ config, db: h.stores.db, temporal: h.temporal, logger, port: 0 });
    ops = grpcClient(OperationsService, server.port, 'dev-ops');
  });
  after(async () => {
    for (const id of schedules) {
      await h.temporal.schedule
        .getHandle(id)
        .delete()
        .catch(() => undefined);
    }
    await server?.close();
    await h?.close();
  });

  const all = <T>(call: () => Promise<T>) => codesOf(Array.from({ length: PARALLEL }, call));
  const ok = Array<string>(PARALLEL).fill('OK');
  const opts = { timeoutMs: DEADLINE_MS };

  it('answers GetProjectionStatus, PauseSchedules and ResumeSchedules to every caller', async () => {
    describes = 0;
    assert.deepEqual(await all(() => ops.getProjectionStatus({}, opts)), ok, 'GetProjectionStatus');
    // One description of each schedule serves the whole burst (allowing for a burst that spans the cache's life).
    assert.ok(describes <= 3 * SCHEDULE_IDS, `${describes} schedule descriptions for ${PARALLEL} calls`);
    assert.deepEqual(await all(() => ops.pauseSchedules({ note: 'parallel' }, opts)), ok, 'PauseSchedules');
    const paused = await ops.getProjectionStatus({});
    assert.equal(paused.schedules.length, schedules.length);
    assert.ok(paused.schedules.every((s) => s.paused && s.note === 'parallel'));
    assert.deepEqual(await all(() => ops.resumeSchedules({}, opts)), ok, 'ResumeSchedules');
    assert.ok((await ops.getProjectionStatus({})).schedules.every((s) => !s.paused));
    assert.deepEqual(await all(() => ops.getProjectionStatus({}, opts)), ok, 'GetProjectionStatus again');
  });
});
