import { strict as assert } from 'node:assert';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { MongoClient } from 'mongodb';
import { connectGraph, connectTemporal } from '../../lib/clients';
import { sharedNamespaceEnv } from '../../lib/config';
import { TASK_QUEUES } from '../../pipeline/queues';
import { SCHEDULES } from '../../pipeline/schedules';
import { testConfig, uniqueId } from '../support/env';

/**
 * Two deployments on two databases and one Temporal namespace, each configured the way the demo configures
 * itself (scripts/demo-env.sh), each with its real projection worker: neither picks up the other's workflows,
 * and each owns its schedules.
 */

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../..');

/** The demo's deployment settings for a database, as scripts/demo-env.sh exports them. */
async function demoEnv(db?: string): Promise<{ MONGODB_DB: string; TASK_QUEUE_PREFIX: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, MONGODB_DB: db };
  delete env.TASK_QUEUE_PREFIX;
  if (db === undefined) delete env.MONGODB_DB;
  const { stdout } = await run(
    'bash',
    ['-c', 'source scripts/demo-env.sh && printf "%s\\n%s" "$MONGODB_DB" "$TASK_QUEUE_PREFIX"'],
    { cwd: ROOT, env },
  );
  const [MONGODB_DB, TASK_QUEUE_PREFIX] = stdout.split('\n');
  return { MONGODB_DB, TASK_QUEUE_PREFIX };
}

function startProjectionWorker(env: Record<string, string>): { child: ChildProcess; started: Promise<void> } {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', 'workers/projection.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...env,
      PROJECTION_WORKER_METRICS_PORT: '0',
      // The schedules are created at start; their runs stay out of the test's window.
      CONSISTENCY_RECENT_INTERVAL_MS: '3600000',
      OUTBOX_SCHEDULE_INTERVAL_MS: '3600000',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => output.push(l));
  const started = new Promise<void>((ok, fail) => {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      output.push(l);
      if (l.includes('"msg":"worker started"')) ok();
    });
    child.once('exit', (code) => fail(new Error(`worker exited (${code}) before starting:\n${output.join('\n')}`)));
  });
  started.catch(() => undefined);
  return { child, started };
}

describe('deployments sharing one Temporal namespace', function () {
  this.timeout(300_000);

  it('the demo, benchmarks and tests name their task queues and schedules after their database', async () => {
    assert.deepEqual(await demoEnv(), { MONGODB_DB: 'feedflow_demo', TASK_QUEUE_PREFIX: 'feedflow_demo-' });
    assert.equal(sharedNamespaceEnv({ MONGODB_DB: 'feedflow_bench_feed' }).TASK_QUEUE_PREFIX, 'feedflow_bench_feed-');
    assert.equal(sharedNamespaceEnv({ MONGODB_DB: 'x', TASK_QUEUE_PREFIX: '' }).TASK_QUEUE_PREFIX, '');
    const a = testConfig();
    const b = testConfig();
    assert.equal(a.TASK_QUEUE_PREFIX, `${a.MONGODB_DB}-`);
    assert.notEqual(a.TASK_QUEUE_PREFIX, b.TASK_QUEUE_PREFIX);
  });

  describe('two demo deployments on two databases', () => {
    const deployments: Array<{ MONGODB_DB: string; TASK_QUEUE_PREFIX: string }> = [];
    const workers: ChildProcess[] = [];
    let temporal: Client;
    let mongo: MongoClient;

    before(async () => {
      for (const db of [uniqueId('feedflow_test_iso_a_'), uniqueId('feedflow_test_iso_b_')]) {
        deployments.push(await demoEnv(db));
      }
      // Before anything starts: with one shared prefix the workers below would poll one queue.
      const prefixes = deployments.map((d) => d.TASK_QUEUE_PREFIX);
      assert.ok(prefixes.every(Boolean) && prefixes[0] !== prefixes[1], `prefixes ${JSON.stringify(prefixes)}`);
      const config = testConfig();
      temporal = await connectTemporal(config);
      mongo = await MongoClient.connect(config.MONGODB_URI);
      const started = deployments.map((d) => startProjectionWorker(d));
      workers.push(...started.map((s) => s.child));
      await Promise.all(started.map((s) => s.started));
    });

    after(async () => {
      for (const w of workers) {
        if (w.exitCode !== null || w.signalCode !== null) continue;
        const exited = once(w, 'exit');
        w.kill('SIGTERM');
        await exited;
      }
      for (const d of deployments) {
        // The projection worker's schedules (the search check's belongs to the search worker, not running here).
        for (const id of Object.values(SCHEDULES).filter((s) => s !== SCHEDULES.searchCheck)) {
          await temporal?.schedule
            .getHandle(d.TASK_QUEUE_PREFIX + id)
            .delete()
            .catch(() => undefined);
        }
        await mongo?.db(d.MONGODB_DB).dropDatabase();
      }
      const graph = connectGraph(testConfig());
      for (const d of deployments) {
        await graph.executeQuery('MATCH (p:Ping) WHERE p.id STARTS WITH $db DETACH DELETE p', { db: d.MONGODB_DB });
      }
      await graph.close();
      await mongo?.close();
      await temporal?.connection.close();
    });

    it('runs each deployment’s workflows only on its own worker', async () => {
      const started = deployments.flatMap((d, k) =>
        Array.from({ length: 8 }, (_, i) => {
          const message = `${d.MONGODB_DB}-ping-${i}`;
          return temporal.workflow
            .execute('pingWorkflow', {
              taskQueue: d.TASK_QUEUE_PREFIX + TASK_QUEUES.projection,
              workflowId: `${d.TASK_QUEUE_PREFIX}isolation/${k}/${i}`,
              args: [{ message }],
              workflowExecutionTimeout: '2 minutes',
            })
            .then(() => message);
        }),
      );
      const messages = await Promise.all(started);
      // Each ping's activity records it in the database of the worker that ran it.
      for (const d of deployments) {
        const pings = await mongo.db(d.MONGODB_DB).collection<{ _id: string }>('system_pings').find().toArray();
        assert.deepEqual(
          pings.map((p) => p._id).sort(),
          messages.filter((m) => m.startsWith(`${d.MONGODB_DB}-`)).sort(),
          `pings run by the worker of ${d.MONGODB_DB}`,
        );
      }
    });

    it('gives each deployment its own schedules, starting workflows on its own queue', async () => {
      for (const d of deployments) {
        // The projection worker's schedules (the search check's belongs to the search worker, not running here).
        for (const id of Object.values(SCHEDULES).filter((s) => s !== SCHEDULES.searchCheck)) {
          const schedule = await temporal.schedule.getHandle(d.TASK_QUEUE_PREFIX + id).describe();
          assert.equal(schedule.action.type, 'startWorkflow');
          if (schedule.action.type !== 'startWorkflow') continue;
          assert.equal(schedule.action.taskQueue, d.TASK_QUEUE_PREFIX + TASK_QUEUES.projection);
          assert.ok(schedule.action.workflowId.startsWith(d.TASK_QUEUE_PREFIX), schedule.action.workflowId);
        }
      }
    });
  });
});
