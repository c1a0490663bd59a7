import { readFileSync } from 'node:fs';

/**
 * Fail-fast waiting for scripts that depend on processes they started (the demo, benchmarks): a wait ends as
 * soon as one of those processes is gone, or when its deadline passes, with a message that names the process
 * and its log and quotes the log's last lines. Nothing waits forever in silence.
 */

/** A process a script depends on. */
export interface Watched {
  name: string;
  pid: number;
  log: string;
}

export class SupervisionError extends Error {}

export interface WaitOptions {
  deadlineMs: number;
  /** The processes this wait depends on, named if the deadline passes (default: all of them). */
  on?: string[];
}

export interface Supervisor {
  /** Rejects once any watched process is gone; never resolves. */
  exited: Promise<never>;
  /** `work`, unless a watched process exits or the deadline passes first. */
  waitFor<T>(what: string, work: Promise<T>, opts: WaitOptions): Promise<T>;
  stop(): void;
}

/** Whether a pid is a live process; a zombie (exited, not yet reaped) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return !/^\d+ \(.*\) Z /s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

function tail(log: string, lines: number): string {
  try {
    const text = readFileSync(log, 'utf8').trimEnd();
    if (!text) return `its log ${log} is empty`;
    const last = text.split('\n').slice(-lines);
    return `its log ${log} ends:\n${last.map((l) => `    ${l.length > 400 ? `${l.slice(0, 400)}…` : l}`).join('\n')}`;
  } catch {
    return `its log ${log} cannot be read`;
  }
}

export function supervise(procs: Watched[], opts: { intervalMs?: number; tailLines?: number } = {}): Supervisor {
  const intervalMs = opts.intervalMs ?? 200;
  const tailLines = opts.tailLines ?? 15;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const exited = new Promise<never>((_, reject) => {
    const check = (): void => {
      if (stopped) return;
      const dead = procs.find((p) => !isAlive(p.pid));
      if (dead) {
        reject(new SupervisionError(`${dead.name} (pid ${dead.pid}) exited; ${tail(dead.log, tailLines)}`));
        return;
      }
      timer = setTimeout(check, intervalMs);
      timer.unref();
    };
    check();
  });
  // Nobody may be waiting at the moment a process dies; the next waitFor still sees it.
  exited.catch(() => undefined);

  return {
    exited,
    async waitFor<T>(what: string, work: Promise<T>, { deadlineMs, on }: WaitOptions): Promise<T> {
      let deadline: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        deadline = setTimeout(() => {
          const named = procs.filter((p) => !on || on.includes(p.name));
          const state = named.map((p) => `${p.name} (pid ${p.pid}) is still running; ${tail(p.log, tailLines)}`);
          reject(
            new SupervisionError(
              `gave up waiting for ${what} after ${Math.round(deadlineMs / 1000)} s` +
                (state.length ? `\n${state.join('\n')}` : ''),
            ),
          );
        }, deadlineMs);
      });
      try {
        return await Promise.race([work, exited, late]);
      } finally {
        clearTimeout(deadline);
      }
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** Parses `--app name,pid,log` arguments (the demo's launcher passes one per process it started). */
export function appsFromArgs(argv: string[]): Watched[] {
  const apps: Watched[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== '--app') continue;
    const m = /^([^,]+),(\d+),(.+)$/.exec(argv[++i] ?? '');
    if (!m) throw new Error(`bad --app "${argv[i]}": expected name,pid,log`);
    apps.push({ name: m[1], pid: Number(m[2]), log: m[3] });
  }
  return apps;
}
