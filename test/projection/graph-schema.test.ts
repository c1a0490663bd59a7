import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Driver } from 'neo4j-driver';
import { connectGraph } from '../../lib/clients';
import { createGraph } from '../../stores/graph';
import { openStores, type TestStores, uniqueId } from '../support/env';
import { waitFor } from '../support/wait';

/**
 * First boot on a fresh stack: every worker prepares the stores at start, all at once. The shared graph already
 * has the schema (other suites run on it), so the races are staged: under a label of the test's own, and, for
 * real worker processes, by holding their graph connections until the schema is dropped, then letting them in
 * together, which keeps the window without the schema to the moment it takes them to recreate it.
 */

const ROOT = resolve(__dirname, '../..');
const ROUNDS = 4;
/** Fewer rounds with real processes: each starts two workers on a 2-core machine. */
const PROCESS_ROUNDS = 3;

async function constraintsOn(driver: Driver, label: string): Promise<string[]> {
  const res = await driver.executeQuery(
    'SHOW CONSTRAINTS YIELD name, labelsOrTypes WHERE $label IN labelsOrTypes RETURN name',
    { label },
  );
  return res.records.map((r) => r.get('name') as string);
}

/** A TCP relay to the graph that holds every connection it accepts until released. */
async function holdingRelay(
  target: URL,
): Promise<{ port: number; held(): number; hold(): void; release(): void; close(): void }> {
  const waiting: Array<() => void> = [];
  const sockets = new Set<Socket>();
  let released = false;
  const server: Server = createServer((client) => {
    sockets.add(client);
    const pipe = () => {
      const upstream = connect(Number(target.port), target.hostname);
      sockets.add(upstream);
      client.pipe(upstream).pipe(client);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    };
    if (released) pipe();
    else waiting.push(pipe);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    held: () => waiting.length,
    hold() {
      released = false;
    },
    release() {
      released = true;
      waiting.splice(0).forEach((pipe) => pipe());
    },
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

interface RunningWorker {
  name: string;
  child: ChildProcess;
  output: string[];
  /** Resolves at the worker's `stores ready` line; rejects if it exits first. */
  ready: Promise<void>;
}

function startWorker(file: string, env: Record<string, string>): RunningWorker {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', file], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => output.push(l));
  const ready = new Promise<void>((resolveReady, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      output.push(l);
      if (l.includes('"msg":"stores ready"')) resolveReady();
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`${file} exited (${code ?? signal}) before its stores were ready:\n${output.join('\n')}`)),
    );
  });
  ready.catch(() => undefined);
  return { name: file, child, output, ready };
}

async function stop(w: RunningWorker): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  const exited = once(w.child, 'exit');
  w.child.kill('SIGTERM');
  const timer = setTimeout(() => w.child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/** Until `probe` holds; fails at once, with the worker's output, if a worker exits first. */
async function until(what: string, probe: () => boolean, workers: RunningWorker[], timeoutMs: number): Promise<void> {
  const exited = (w: RunningWorker) => w.child.exitCode !== null || w.child.signalCode !== null;
  const outcome = await waitFor(() => (probe() ? 'held' : workers.find(exited)), { message: what, timeoutMs });
  if (outcome === 'held') return;
  await outcome.ready;
  throw new Error(`${outcome.name} exited while waiting for ${what}:\n${outcome.output.join('\n')}`);
}

describe('graph schema setup on a fresh graph', function () {
  this.timeout(600_000);
  let stores: TestStores;
  before(async function () {
    stores = await openStores();
    if (stores.config.GRAPH_DIALECT !== 'neo4j') this.skip();
  });
  after(async () => {
    // Whatever happened, the shared graph keeps its schema.
    if (stores) await createGraph(stores.graph, stores.config.GRAPH_DIALECT).ensureSchema();
    await stores?.close();
  });

  it('lets many processes create the same schema at once, round after round', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const label = uniqueId('SchemaRace_');
      // One driver each, as separate processes would have.
      const drivers = Array.from({ length: 6 }, () => connectGraph(stores.config));
      try {
        const results = await Promise.allSettled(
          drivers.map((d) => createGraph(d, stores.config.GRAPH_DIALECT).ensureSchema(label)),
        );
        const failures = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
        assert.deepEqual(failures, [], `round ${round + 1}`);
        assert.deepEqual(await constraintsOn(stores.graph, label), [`${label.toLowerCase()}_id_unique`]);
      } finally {
        await stores.graph.executeQuery(`DROP CONSTRAINT ${label.toLowerCase()}_id_unique IF EXISTS`);
        await Promise.all(drivers.map((d) => d.close()));
      }
    }
  });

  it('starts the workers all at once on a graph without the schema, round after round', async () => {
    const relay = await holdingRelay(new URL(stores.config.GRAPH_URI));
    try {
      for (let round = 0; round < PROCESS_ROUNDS; round++) {
        const env = {
          MONGODB_DB: uniqueId('feedflow_test_'),
          TASK_QUEUE_PREFIX: uniqueId('schema-') + '-',
          GRAPH_URI: `bolt://127.0.0.1:${relay.port}`,
          SCHEDULES_ENABLED: 'false',
          PROJECTION_WORKER_METRICS_PORT: '0',
          PRIORITY_WORKER_METRICS_PORT: '0',
          LOG_LEVEL: 'info',
        };
        // The workers that prepare the stores; the ranking worker only reads the graph.
        relay.hold();
        const workers = ['workers/projection.ts', 'workers/priority.ts'].map((f) => startWorker(f, env));
        try {
          await until('both workers to reach the graph', () => relay.held() >= workers.length, workers, 180_000);
          await stores.graph.executeQuery('DROP CONSTRAINT user_id_unique IF EXISTS');
          relay.release();
          await Promise.all(workers.map((w) => w.ready));
          assert.deepEqual(await constraintsOn(stores.graph, 'User'), ['user_id_unique'], `round ${round + 1}`);
        } finally {
          relay.release();
          await Promise.all(workers.map(stop));
          await createGraph(stores.graph, stores.config.GRAPH_DIALECT).ensureSchema();
          await stores.mongo.db(env.MONGODB_DB).dropDatabase();
        }
      }
    } finally {
      relay.close();
    }
  });
});
