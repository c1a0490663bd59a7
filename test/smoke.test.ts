import { strict as assert } from 'node:assert';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { Code } from '@connectrpc/connect';
import { Worker } from '@temporalio/worker';
import { createSystemActivities } from '../activities/system';
import { DiagnosticsService } from '../gen/feedflow/v1/diagnostics_pb';
import { Health, HealthCheckResponse_ServingStatus as Status } from '../gen/grpc/health/v1/health_pb';
import { ServerReflection } from '../gen/grpc/reflection/v1/reflection_pb';
import { loadConfig, ConfigError } from '../lib/config';
import { createLogger } from '../lib/logger';
import { authInterceptor } from '../services/shared/auth';
import { errorInterceptor } from '../services/shared/errors';
import { serve, startGrpcServer, type GrpcServer } from '../services/shared/grpc-server';
import { loadWorkflowBundle } from '../workers/bundle';
import { pingWorkflow } from '../workflows/ping';
import { openStores, temporalEnv, uniqueId, type TestStores } from './support/env';
import { codeOf, grpcClient } from './support/grpc';
import { observationWindow, waitFor } from './support/wait';

const run = promisify(execFile);
const TOOLS = process.env.FEEDFLOW_TOOLS_DIR ?? `${__dirname}/../.tools`;

describe('the local stack', function () {
  let stores: TestStores;
  before(async () => {
    stores = await openStores();
  });
  after(async () => stores?.close());

  it('round-trips a document through the mongodb driver', async () => {
    const coll = stores.db.collection<{ _id: string; tags: string[]; at: Date }>('smoke');
    const doc = { _id: uniqueId(), tags: ['a', 'b'], at: new Date('2026-01-02T03:04:05Z') };
    await coll.insertOne(doc);
    assert.deepEqual(await coll.findOne({ _id: doc._id }), doc);
  });

  it('round-trips MERGE and MATCH through neo4j-driver', async () => {
    const id = uniqueId('smoke');
    await stores.graph.executeQuery(
      'MERGE (a:Smoke {id: $id}) MERGE (b:Smoke {id: $id + "-b"}) MERGE (a)-[:KNOWS {w: 0.5}]->(b)',
      { id },
    );
    const res = await stores.graph.executeQuery('MATCH (a:Smoke {id: $id})-[k:KNOWS]->(b) RETURN b.id AS b, k.w AS w', {
      id,
    });
    assert.deepEqual(
      res.records.map((r) => [r.get('b'), r.get('w')]),
      [[`${id}-b`, 0.5]],
    );
    await stores.graph.executeQuery('MATCH (n:Smoke) WHERE n.id STARTS WITH $id DETACH DELETE n', { id });
  });

  it('runs a workflow on a real Worker against the dev server', async () => {
    const env = await temporalEnv(stores.config);
    const taskQueue = uniqueId('smoke-');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await loadWorkflowBundle(),
      activities: createSystemActivities({ db: stores.db, graph: stores.graph }),
    });
    const message = uniqueId('ping');
    const result = await worker.runUntil(
      env.client.workflow.execute(pingWorkflow, { taskQueue, workflowId: `smoke/${message}`, args: [{ message }] }),
    );
    assert.deepEqual(result, { message, mongoRoundTrip: true, graphRoundTrip: true });
    await env.teardown();
  });
});

describe('the gRPC server skeleton', function () {
  let server: GrpcServer;
  let release: (() => void) | undefined;
  before(async () => {
    const config = loadConfig({});
    server = await startGrpcServer({
      name: 'smoke',
      port: 0,
      // A deliberately slow Echo, to watch a call survive the drain.
      services: [
        serve(DiagnosticsService, {
          async echo(req) {
            if (req.message === 'slow') await new Promise<void>((r) => (release = r));
            return { message: req.message, server: 'smoke' };
          },
        }),
      ],
      maxMessageBytes: config.GRPC_MAX_MESSAGE_BYTES,
      drainTimeoutMs: 5000,
      interceptors: [errorInterceptor(() => undefined), authInterceptor(config.FEEDFLOW_TOKENS)],
      logger: createLogger('smoke', 'silent'),
    });
  });

  it('answers grpc.health.v1 Check for the server and NOT_FOUND for an unknown service', async () => {
    const health = grpcClient(Health, server.port);
    assert.equal((await health.check({ service: '' })).status, Status.SERVING);
    assert.equal(await codeOf(health.check({ service: 'nope.v1.Nothing' })), Code.NotFound);
  });

  it('lists its services through server reflection', async () => {
    const reflection = grpcClient(ServerReflection, server.port);
    const names: string[] = [];
    for await (const res of reflection.serverReflectionInfo(
      (async function* () {
        yield { messageRequest: { case: 'listServices' as const, value: '' } };
      })(),
    )) {
      if (res.messageResponse.case === 'listServicesResponse')
        names.push(...res.messageResponse.value.service.map((s) => s.name));
    }
    assert.deepEqual(names.sort(), [
      'feedflow.v1.DiagnosticsService',
      'grpc.health.v1.Health',
      'grpc.reflection.v1.ServerReflection',
    ]);
  });

  it('works with grpcurl and grpc-health-probe', async function () {
    if (!existsSync(`${TOOLS}/bin/grpcurl`)) this.skip();
    const addr = `127.0.0.1:${server.port}`;
    const list = await run(`${TOOLS}/bin/grpcurl`, ['-plaintext', addr, 'list']);
    assert.match(list.stdout, /grpc\.health\.v1\.Health/);
    assert.match(list.stdout, /grpc\.reflection\.v1\.ServerReflection/);
    const echo = await run(`${TOOLS}/bin/grpcurl`, [
      '-plaintext',
      '-H',
      'authorization: Bearer dev-queries',
      '-d',
      '{"message":"hi"}',
      addr,
      'feedflow.v1.DiagnosticsService/Echo',
    ]);
    assert.equal(JSON.parse(echo.stdout).message, 'hi');
    const probe = await run(`${TOOLS}/bin/grpc-health-probe`, [`-addr=${addr}`]);
    assert.match(probe.stdout + probe.stderr, /SERVING/);
  });

  it('drains: an in-flight call completes after close begins, and health turns NOT_SERVING', async () => {
    const client = grpcClient(DiagnosticsService, server.port, 'dev-queries');
    const slow = client.echo({ message: 'slow' });
    const inHandler = await waitFor(() => release, { message: 'the slow call to reach its handler' });
    const closing = server.close();
    assert.equal(server.health.get(''), Status.NOT_SERVING);
    await observationWindow(100, 'the in-flight call is not cut off while the server closes');
    inHandler();
    assert.equal((await slow).message, 'slow');
    await closing;
    await codeOf(grpcClient(DiagnosticsService, server.port, 'dev-queries').echo({ message: 'late' }));
  });

  it('exits cleanly on SIGTERM', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', 'services/command/server.ts'], {
      env: {
        ...process.env,
        COMMAND_PORT: String(port),
        COMMAND_METRICS_PORT: '0',
        MONGODB_DB: uniqueId('feedflow_test_'),
        LOG_LEVEL: 'silent',
      },
      stdio: 'ignore',
    });
    const probe = grpcClient(DiagnosticsService, port, 'dev-commands');
    await waitFor(() => probe.echo({ message: 'up' }), { message: 'the command server to start', timeoutMs: 20_000 });
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
  });
});

describe('configuration', () => {
  it('fails at once naming the bad variable', () => {
    assert.throws(
      () => loadConfig({ GRAPH_DIALECT: 'oracle' }),
      (e: Error) => e instanceof ConfigError && /GRAPH_DIALECT/.test(e.message),
    );
    assert.throws(() => loadConfig({ COMMAND_PORT: '70000' }), /COMMAND_PORT/);
    assert.throws(() => loadConfig({ MONGODB_URI: 'http://x' }), /MONGODB_URI/);
    assert.throws(() => loadConfig({ FEEDFLOW_TOKENS: 'abc=svc:root' }), /FEEDFLOW_TOKENS/);
  });
  it('defaults to the local stack', () => {
    const c = loadConfig({});
    assert.equal(c.TEMPORAL_ADDRESS, '127.0.0.1:7233');
    assert.equal(c.GRAPH_DIALECT, 'neo4j');
    assert.equal(c.FEEDFLOW_TOKENS.get('dev-commands')?.scopes[0], 'commands');
  });
});
