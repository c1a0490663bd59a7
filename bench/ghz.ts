import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const TOOLS = process.env.FEEDFLOW_TOOLS_DIR ?? `${__dirname}/../.tools`;

export interface GhzReport {
  rps: number;
  count: number;
  latencyDistribution: Array<{ percentage: number; latency: number }>;
  statusCodeDistribution: Record<string, number>;
}

/**
 * Drives one RPC with ghz over server reflection. An array of messages is sent round-robin (one per request).
 */
export async function ghz(opts: {
  port: number;
  call: string;
  data: object | object[];
  token: string;
  concurrency: number;
  total: number;
  /** Per-call deadline (ghz's default is 20s). */
  timeout?: string;
}): Promise<GhzReport> {
  const file = join(tmpdir(), `ghz-${process.pid}-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(opts.data));
  const { stdout } = await run(
    `${TOOLS}/bin/ghz`,
    [
      '--insecure',
      '--call',
      opts.call,
      '-D',
      file,
      '-m',
      JSON.stringify({ authorization: `Bearer ${opts.token}` }),
      '-c',
      String(opts.concurrency),
      '-n',
      String(opts.total),
      '--timeout',
      opts.timeout ?? '20s',
      '-O',
      'json',
      `127.0.0.1:${opts.port}`,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return JSON.parse(stdout) as GhzReport;
}

/** A latency percentile of a report, in milliseconds. */
export const percentileMs = (r: GhzReport, p: number): number =>
  (r.latencyDistribution.find((d) => d.percentage === p)?.latency ?? NaN) / 1e6;

/** Requests that did not end OK. */
export const failures = (r: GhzReport): number =>
  Object.entries(r.statusCodeDistribution)
    .filter(([k]) => k !== 'OK')
    .reduce((n, [, v]) => n + v, 0);
