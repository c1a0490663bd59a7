import { strict as assert } from 'node:assert';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { feedItemId } from '../../domain/ids';
import { progressQuery } from '../../pipeline/contracts/projection';
import { TASK_QUEUES } from '../../pipeline/queues';
import { createGraph, type Graph } from '../../stores/graph';
import { ensureReadModelIndexes, readModel } from '../../stores/read-model';
import { openStores, type TestStores, uniqueId } from '../support/env';
import { seedAudience, seedPost, startFanout } from '../support/projection';
import { waitFor } from '../support/wait';
import { runProjectionWorkers } from '../support/workers';

const ROOT = resolve(__dirname, '../..');

/**
 * Fan-outs against the real stores: the hybrid threshold, the cap sweep, then failures: re-runs, a reset halfway,
 * a worker killed with SIGKILL, and a Temporal server restart. The count of items must come out exact every time.
 */
describe('Fan-out at volume and under failure (real workers, real stores)', function () {
  this.timeout(300_000);
  let stores: TestStores;
  let graph: Graph;
  let connection: NativeConnection;
  let temporal: Client;
  const seeded: string[] = [];
  const seed = async (author: string, n: number, kind?: 'FOLLOWS' | 'CONNECTED'): Promise<string[]> => {
    const ids = await seedAudience(graph, author, n, kind);
    seeded.push(author, ...ids);
    return ids;
  };

  before(async () => {
    // Followers beyond the default pull threshold are pushed here: these tests are about volume.
    stores = await openStores({ PULL_AUTHOR_THRESHOLD: '10000000' });
    graph = createGraph(stores.graph, stores.config.GRAPH_DIALECT);
    await Promise.all([ensureReadModelIndexes(stores.db), graph.ensureSchema()]);
    connection = await NativeConnection.connect({ address: stores.config.TEMPORAL_ADDRESS });
    temporal = new Client({
      connection: await Connection.connect({ address: stores.config.TEMPORAL_ADDRESS }),
      namespace: stores.config.TEMPORAL_NAMESPACE,
    });
  });
  after(async () => {
    await graph?.removeUsers(seeded);
    await temporal?.connection.close();
    await connection?.close();
    await stores?.close();
  });

  const itemsOf = (postId: string) => readModel(stores.db).feedItems.countDocuments({ postId });

  it('pushes a pull author’s post to connections only and records the author for read-time merge', async () => {
    const prefix = uniqueId('pull-') + '-';
    const workers = await runProjectionWorkers(connection, stores, prefix, { PULL_AUTHOR_THRESHOLD: 10 });
    try {
      const author = uniqueId('star');
      const fans = await seed(author, 12, 'FOLLOWS');
      await seed(author, 3, 'CONNECTED');
      const input = await seedPost(stores, author);
      const result = await (await startFanout(temporal, prefix, input)).result();
      assert.deepEqual([result.pullAuthor, result.audienceSize, result.itemsWritten], [true, 3, 4]);
      assert.equal(await itemsOf(input.postId!), 4);
      assert.equal(await readModel(stores.db).feedItems.countDocuments({ viewerId: { $in: fans } }), 0);
      const pull = await readModel(stores.db).pullAuthors.findOne({ _id: author });
      assert.equal(pull?.followers, 12);
    } finally {
      await workers.stop();
    }
  });

  it('trims every feed to the cap in the sweep, keeping the newest items', async () => {
    const prefix = uniqueId('cap-') + '-';
    const workers = await runProjectionWorkers(connection, stores, prefix, { FEED_CAP: 3 });
    try {
      const since = new Date();
      const author = uniqueId('a');
      const fans = await seed(author, 2);
      const posts: string[] = [];
      for (let i = 0; i < 5; i++) {
        const input = await seedPost(stores, author, { at: new Date(since.getTime() + i * 1000) });
        await (await startFanout(temporal, prefix, input)).result();
        posts.push(input.postId!);
      }
      const result = await temporal.workflow.execute('trimFeedsWorkflow', {
        taskQueue: prefix + TASK_QUEUES.projection,
        workflowId: uniqueId('trim-test-'),
        args: [{ since: since.toISOString() }],
      });
      assert.equal(result.viewers, 3);
      for (const viewer of [author, ...fans]) {
        const kept = await readModel(stores.db).feedItems.find({ viewerId: viewer }).toArray();
        assert.deepEqual(kept.map((d) => d.postId).sort(), posts.slice(2).sort(), viewer);
      }
    } finally {
      await workers.stop();
    }
  });

  it('runs the same fan-out twice to the same feeds, without a duplicate or a rewrite', async () => {
    const prefix = uniqueId('twice-') + '-';
    const workers = await runProjectionWorkers(connection, stores, prefix);
    try {
      const author = uniqueId('a');
      await seed(author, 2_500);
      const input = await seedPost(stores, author);
      const first = await (await startFanout(temporal, prefix, input)).result();
      const sample = await readModel(stores.db).feedItems.findOne({
        _id: feedItemId(`${author}-f0001234`, input.postId!),
      });
      // The same business id again, as an operator re-running a completed fan-out would.
      const second = await (await startFanout(temporal, prefix, input)).result();
      assert.deepEqual([first.itemsWritten, second.itemsWritten], [2_501, 2_501]);
      assert.equal(await itemsOf(input.postId!), 2_501);
      const again = await readModel(stores.db).feedItems.findOne({ _id: sample!._id });
      assert.equal(again?.projectedAt.getTime(), sample?.projectedAt.getTime());
    } finally {
      await workers.stop();
    }
  });

  it('resets halfway (temporal workflow reset) and still writes every item exactly once', async () => {
    const prefix = uniqueId('reset-') + '-';
    // Small pages, so 5,000 viewers take five slices and "halfway" is a real point in the history.
    const workers = await runProjectionWorkers(connection, stores, prefix, { FANOUT_PAGE_SIZE: 100 });
    try {
      const author = uniqueId('a');
      await seed(author, 5_000);
      const input = await seedPost(stores, author);
      const handle = await startFanout(temporal, prefix, input);
      await waitFor(async () => (await handle.query(progressQuery)).pagesDone >= 20, {
        message: 'two slices',
      });
      const history = await handle.fetchHistory();
      // Completed activities: the plan, then slice 1, then slice 2. Reset to just after slice 1.
      const firstSlice = history.events!.filter((e) => e.activityTaskCompletedEventAttributes)[1];
      const resetPoint = history.events!.find(
        (e) => e.workflowTaskCompletedEventAttributes && Number(e.eventId) > Number(firstSlice.eventId),
      )!;
      const { runId } = await temporal.workflowService.resetWorkflowExecution({
        namespace: stores.config.TEMPORAL_NAMESPACE,
        workflowExecution: { workflowId: input.eventId, runId: handle.firstExecutionRunId },
        workflowTaskFinishEventId: resetPoint.eventId,
        reason: 'test: reset halfway',
        requestId: randomUUID(),
      });
      assert.ok(runId && runId !== handle.firstExecutionRunId);
      const result = await temporal.workflow.getHandle(input.eventId, runId!).result();
      assert.equal(result.itemsWritten, 5_001);
      assert.equal(await itemsOf(input.postId!), 5_001);
    } finally {
      await workers.stop();
    }
  });

  describe('a worker process killed with SIGKILL', () => {
    const children: ChildProcess[] = [];
    after(() => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));

    /** Starts workers/projection.ts as a child process and resolves once it polls. */
    async function startWorker(prefix: string): Promise<ChildProcess> {
      const child = spawn(process.execPath, ['--require', 'tsx/cjs', 'workers/projection.ts'], {
        cwd: ROOT,
        env: {
          ...process.env,
          MONGODB_DB: stores.config.MONGODB_DB,
          TASK_QUEUE_PREFIX: prefix,
          PULL_AUTHOR_THRESHOLD: '10000000',
          LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      children.push(child);
      await new Promise<void>((resolveReady, reject) => {
        let out = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('"msg":"worker started"')) resolveReady();
        });
        child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
      });
      return child;
    }

    it('loses and duplicates nothing when killed three times during a fan-out to 20,000 viewers', async () => {
      const prefix = uniqueId('crash-') + '-';
      const author = uniqueId('a');
      const viewers = await seed(author, 20_000);
      const input = await seedPost(stores, author);
      const items = readModel(stores.db).feedItems;
      let worker = await startWorker(prefix);
      const handle = await startFanout(temporal, prefix, input);
      // Three kills at random points of the audience (pages go in viewer id order), each later than the last.
      const marks = [randomInt(1_000, 6_000), randomInt(7_000, 12_000), randomInt(13_000, 18_500)];
      for (const mark of marks) {
        await waitFor(async () => await items.findOne({ _id: feedItemId(viewers[mark], input.postId!) }), {
          message: `viewer #${mark}`,
          timeoutMs: 120_000,
        });
        worker.kill('SIGKILL');
        await new Promise((r) => worker.once('exit', r));
        worker = await startWorker(prefix);
      }
      const result = await handle.result();
      worker.kill('SIGTERM');
      assert.equal(result.itemsWritten, 20_001);
      assert.equal(await itemsOf(input.postId!), 20_001);
      const history = await handle.fetchHistory();
      const retried = history.events!.filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
      assert.ok(retried.length >= 1, 'a slice was retried after a kill');
    });
  });

  it('completes after the Temporal dev server restarts mid fan-out', async function () {
    const status = await promisify(execFile)('bash', ['scripts/stack.sh', 'status'], { cwd: ROOT }).catch(
      (e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }),
    );
    if (!/^temporal\s+running/m.test(status.stdout)) this.skip(); // only a stack this script started can restart
    const prefix = uniqueId('restart-') + '-';
    const workers = await runProjectionWorkers(connection, stores, prefix, { FANOUT_PAGE_SIZE: 250 });
    try {
      const author = uniqueId('a');
      const viewers = await seed(author, 10_000);
      const input = await seedPost(stores, author);
      const handle = await startFanout(temporal, prefix, input);
      const items = readModel(stores.db).feedItems;
      await waitFor(async () => await items.findOne({ _id: feedItemId(viewers[2_500], input.postId!) }), {
        message: 'a quarter of the audience',
      });
      await promisify(execFile)('bash', ['scripts/stack.sh', 'restart', 'temporal'], { cwd: ROOT });
      const result = await waitFor(() => handle.result(), { message: 'the fan-out result', timeoutMs: 180_000 });
      assert.equal(result.itemsWritten, 10_001);
      assert.equal(await itemsOf(input.postId!), 10_001);
    } finally {
      await workers.stop();
    }
  });
});
