/**
 * `npm run bench:commands`: CreatePost over gRPC with ghz against a command server on the local stack, beside
 * the Echo no-op RPC on the same server as the framework's ceiling. A benchmark, not a test: it prints numbers.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createCommandClient } from '../client';
import { connectMongo, connectTemporal } from '../lib/clients';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { exitOnFailure } from '../lib/main';
import { startCommandServer } from '../services/command/server';
import { failures, ghz as runGhz, percentileMs, TOOLS, type GhzReport } from './ghz';

const run = promisify(execFile);
const TEMPORAL = `${TOOLS}/bin/temporal`;
const LEVELS = (process.env.BENCH_CONCURRENCY ?? '1,8,32').split(',').map(Number);
const TOTAL = Number(process.env.BENCH_REQUESTS ?? 2000);

const ghz = (port: number, call: string, data: object, concurrency: number): Promise<GhzReport> =>
  runGhz({ port, call, data, token: 'dev-commands', concurrency, total: TOTAL });
const pct = percentileMs;

async function main(): Promise<void> {
  const prefix = `bench-${Date.now()}-`;
  const config = loadConfig({
    ...process.env,
    MONGODB_DB: 'feedflow_bench_commands',
    RATE_LIMITS_ENABLED: 'false',
    LOG_LEVEL: 'warn',
    TASK_QUEUE_PREFIX: prefix,
  });
  const { mongo, db } = await connectMongo(config);
  await db.dropDatabase();
  const temporal = await connectTemporal(config);
  const server = await startCommandServer({ config, db, temporal, logger: createLogger('bench', 'warn'), port: 0 });
  const client = createCommandClient({ address: `127.0.0.1:${server.port}`, token: 'dev-commands' });
  const { userId } = await client.registerUser({ email: `bench-${Date.now()}@example.com`, displayName: 'Bench' });

  console.log(`# CreatePost vs Echo, ${TOTAL} requests per row, command server on :${server.port}`);
  console.log('| RPC | concurrency | p50 ms | p99 ms | rps | non-OK |');
  console.log('|---|---|---|---|---|---|');
  for (const c of LEVELS) {
    const echo = await ghz(server.port, 'feedflow.v1.DiagnosticsService.Echo', { message: 'x' }, c);
    const post = await ghz(
      server.port,
      'feedflow.v1.CommandService.CreatePost',
      {
        author_id: userId,
        content: 'benchmark post {{.RequestNumber}}',
        visibility: 'VISIBILITY_PUBLIC',
        post_type: 'POST_TYPE_TEXT',
      },
      c,
    );
    for (const [name, r] of [
      ['Echo (ceiling)', echo],
      ['CreatePost', post],
    ] as const) {
      const bad = failures(r);
      console.log(
        `| ${name} | ${c} | ${pct(r, 50).toFixed(2)} | ${pct(r, 99).toFixed(2)} | ${r.rps.toFixed(0)} | ${bad} |`,
      );
    }
    console.log(`| ratio CreatePost/Echo rps | ${c} | | | ${(post.rps / echo.rps).toFixed(3)} | |`);
  }
  await server.close();
  // Nothing polls the bench queues; end what the bench started.
  await run(TEMPORAL, [
    'workflow',
    'terminate',
    '--query',
    `TaskQueue = '${prefix}projection'`,
    '--reason',
    'bench cleanup',
    '--yes',
  ]).catch(() => undefined);
  await temporal.connection.close();
  await db.dropDatabase();
  await mongo.close();
}

exitOnFailure(main());
