import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Client } from '@temporalio/client';
import { connectTemporal } from '../../lib/clients';
import { TASK_QUEUES } from '../../pipeline/queues';
import { BUNDLE_FILE } from '../../workers/bundle';
import { pingWorkflow } from '../../workflows/ping';
import { openStores, type TestStores, uniqueId } from '../support/env';

const ROOT = resolve(__dirname, '../..');

/**
 * The production worker process, started the way the demo and the image start it, on the prebuilt bundle (brought
 * up to date by mocha's global setup): it loads that file, bundles nothing, and runs a workflow on the dev server.
 */
describe('a worker started from the prebuilt workflow bundle', function () {
  this.timeout(120_000);
  let stores: TestStores;
  let temporal: Client;
  let child: ChildProcess | undefined;
  before(async () => {
    stores = await openStores();
    temporal = await connectTemporal(stores.config);
  });
  after(async () => {
    if (child?.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await temporal?.connection.close();
    await stores?.close();
  });

  it('loads .build/workflow-bundle.js, bundles nothing, and runs a workflow on the dev server', async () => {
    child = spawn(process.execPath, ['--require', 'tsx/cjs', 'workers/projection.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        MONGODB_DB: stores.config.MONGODB_DB,
        TASK_QUEUE_PREFIX: stores.config.TASK_QUEUE_PREFIX,
        SCHEDULES_ENABLED: 'false',
        PROJECTION_WORKER_METRICS_PORT: '0',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    createInterface({ input: child.stderr! }).on('line', (l) => lines.push(l));
    const started = await new Promise<{ workflowBundle?: string }>((ok, fail) => {
      createInterface({ input: child!.stdout! }).on('line', (l) => {
        lines.push(l);
        if (l.includes('"msg":"worker started"')) ok(JSON.parse(l) as { workflowBundle?: string });
      });
      child!.once('exit', (code) => fail(new Error(`worker exited (${code}) before starting:\n${lines.join('\n')}`)));
    });

    const built = createHash('sha256')
      .update(readFileSync(resolve(ROOT, BUNDLE_FILE)))
      .digest('hex');
    assert.equal(started.workflowBundle, built, 'the worker runs the bundle file that was built');
    // The SDK's line when a worker bundles workflow code itself.
    assert.ok(!lines.some((l) => l.includes('Workflow bundle created')), lines.join('\n'));

    const message = uniqueId('bundle');
    const result = await temporal.workflow.execute(pingWorkflow, {
      taskQueue: stores.config.TASK_QUEUE_PREFIX + TASK_QUEUES.projection,
      workflowId: `bundle-test/${message}`,
      args: [{ message }],
    });
    assert.deepEqual(result, { message, mongoRoundTrip: true, graphRoundTrip: true });
  });
});
