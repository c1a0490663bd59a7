import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from './wait';

const ROOT = resolve(__dirname, '../..');
const run = promisify(execFile);

/** A port nothing listens on right now (the OS picks it, then it is released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  await new Promise((ok) => server.close(ok));
  return port;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export type StackServer = 'postgres' | 'ferretdb' | 'redis' | 'graph';

/**
 * Servers of the stack script started for one suite only, on free ports, with data in a temporary folder: a
 * fault test stops and starts them without touching the shared stack other suites use.
 */
export interface PrivateStack {
  /** Config overrides that point a harness at these servers (and at the shared stack for the others). */
  env: Record<string, string>;
  up(...names: StackServer[]): Promise<void>;
  down(...names: StackServer[]): Promise<void>;
  /** kill -9 of the server's recorded process. */
  kill(name: StackServer): Promise<void>;
  close(): Promise<void>;
}

export async function startPrivateStack(names: StackServer[]): Promise<PrivateStack> {
  const dir = await mkdtemp(join(tmpdir(), 'feedflow-stack-'));
  // As root, PostgreSQL runs as an unprivileged user (scripts/stack.sh) that must reach its data folder in here.
  await chmod(dir, 0o755);
  const ports = {
    PG_PORT: await freePort(),
    MONGO_PORT: await freePort(),
    REDIS_PORT: await freePort(),
    GRAPH_PORT: await freePort(),
  };
  const env = {
    ...process.env,
    FEEDFLOW_STACK_DIR: dir,
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
  };
  const stack = (...args: string[]) => run('bash', ['scripts/stack.sh', ...args], { cwd: ROOT, env });
  // Only the servers started here are overridden; the rest stay the shared stack's.
  const overrides: Record<StackServer, Record<string, string>> = {
    postgres: { FERRETDB_POSTGRESQL_URL: `postgres://feedflow@127.0.0.1:${ports.PG_PORT}/ferretdb` },
    ferretdb: { MONGODB_URI: `mongodb://127.0.0.1:${ports.MONGO_PORT}/` },
    redis: { REDIS_URL: `redis://127.0.0.1:${ports.REDIS_PORT}` },
    graph: { GRAPH_URI: `bolt://127.0.0.1:${ports.GRAPH_PORT}` },
  };
  const s: PrivateStack = {
    env: Object.assign({}, ...names.map((n) => overrides[n])) as Record<string, string>,
    async up(...n) {
      // Right after a kill -9, PostgreSQL's orphaned backends may still hold its lock for a moment: try again.
      for (let attempt = 1; ; attempt++) {
        try {
          return void (await stack('up', ...n));
        } catch (err) {
          if (attempt === 5) throw err;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    },
    down: async (...n) => void (await stack('down', ...n)),
    async kill(name) {
      const pid = Number((await readFile(join(dir, 'pids', `${name}.pid`), 'utf8')).trim());
      process.kill(pid, 'SIGKILL');
      await waitFor(() => !alive(pid), { message: `${name} (pid ${pid}) to die after SIGKILL` });
    },
    async close() {
      await stack('down', ...names).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  await s.up(...names);
  return s;
}
