import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appsFromArgs, isAlive, supervise, SupervisionError, type Watched } from '../scripts/supervise';
import { waitFor } from './support/wait';

/** The demo's fail-fast waiting, against real processes that log to files the way demo.sh starts its apps. */
describe('waiting on app processes (demo, benchmarks)', function () {
  this.timeout(30_000);
  let dir: string;
  const children: ChildProcess[] = [];
  before(() => (dir = mkdtempSync(join(tmpdir(), 'feedflow-supervise-'))));
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  /** A node process running `code`, its stdout and stderr appended to its own log file. */
  function app(name: string, code: string): Watched {
    const log = join(dir, `${name}.log`);
    const fd = openSync(log, 'a');
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', fd, fd] });
    children.push(child);
    return { name, pid: child.pid!, log };
  }
  const forever = new Promise<never>(() => undefined);
  const runs = 'setInterval(() => undefined, 1000)';

  it('rejects a wait as soon as a process exits, naming it, its log and the log’s last lines', async () => {
    const projection = app(
      'worker-projection',
      "console.log('starting'); setTimeout(() => { console.error('Neo.TransientError.Transaction.DeadlockDetected'); process.exit(1); }, 300)",
    );
    const command = app('command', runs);
    const apps = supervise([command, projection]);
    const started = Date.now();
    try {
      await assert.rejects(
        apps.waitFor('the smoke workflow on the projection worker', forever, { deadlineMs: 20_000 }),
        (err: Error) => {
          assert.ok(err instanceof SupervisionError);
          assert.match(err.message, new RegExp(`^worker-projection \\(pid ${projection.pid}\\) exited`));
          assert.ok(err.message.includes(projection.log), err.message);
          assert.match(err.message, /starting\n\s+Neo\.TransientError\.Transaction\.DeadlockDetected/);
          assert.doesNotMatch(err.message, /command/);
          return true;
        },
      );
      assert.ok(Date.now() - started < 5_000, 'the exit is noticed within seconds, not at the deadline');
      // A later wait, and the whole-run watch, see the same exit.
      await assert.rejects(apps.waitFor('anything else', forever, { deadlineMs: 20_000 }), /worker-projection/);
      await assert.rejects(apps.exited, /worker-projection/);
    } finally {
      apps.stop();
    }
  });

  it('rejects a wait past its deadline, naming the processes it depends on and their logs', async () => {
    const projection = app('worker-projection', `console.log('bundling workflows'); ${runs}`);
    const query = app('query', runs);
    const apps = supervise([projection, query]);
    try {
      await waitFor(() => readFileSync(projection.log, 'utf8').includes('bundling workflows'), {
        message: 'the log line to land',
      });
      await assert.rejects(
        apps.waitFor('the smoke workflow', forever, { deadlineMs: 500, on: ['worker-projection'] }),
        (err: Error) => {
          assert.ok(err instanceof SupervisionError);
          assert.match(err.message, /^gave up waiting for the smoke workflow after 1 s/);
          assert.match(err.message, new RegExp(`worker-projection \\(pid ${projection.pid}\\) is still running`));
          assert.ok(err.message.includes(projection.log), err.message);
          assert.match(err.message, /bundling workflows/);
          assert.doesNotMatch(err.message, /query/);
          return true;
        },
      );
    } finally {
      apps.stop();
    }
  });

  it('returns what the wait was for when it comes first, and notices a process that was gone already', async () => {
    const running = app('command', runs);
    const apps = supervise([running]);
    assert.equal(await apps.waitFor('a quick answer', Promise.resolve(42), { deadlineMs: 1_000 }), 42);
    apps.stop();

    const gone = app('query', 'process.exit(3)');
    await once(children[children.length - 1], 'exit');
    assert.equal(isAlive(gone.pid), false);
    const late = supervise([gone]);
    await assert.rejects(late.waitFor('the query server', forever, { deadlineMs: 10_000 }), /query \(pid \d+\) exited/);
    late.stop();
  });

  it('reads the apps demo.sh passes', () => {
    assert.deepEqual(appsFromArgs(['--app', 'worker-projection,123,/x/.stack/logs/worker-projection.log']), [
      { name: 'worker-projection', pid: 123, log: '/x/.stack/logs/worker-projection.log' },
    ]);
    assert.throws(() => appsFromArgs(['--app', 'nopid']), /expected name,pid,log/);
  });
});
