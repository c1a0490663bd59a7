/**
 * `npm run bench:temporal`: the Temporal ceiling. Trivial workflows (no I/O besides Temporal's own) on the
 * configured server, with a worker in this process on a fresh task queue: the rate and latency no projection of the
 * same shape can beat on this server. A benchmark, not a test: it prints numbers.
 *
 * - Throughput: BENCH_TEMPORAL_TOTAL (300) workflows at BENCH_TEMPORAL_CONCURRENCY (32), in workflows per second.
 * - Latency: BENCH_TEMPORAL_LATENCY_RUNS (100) workflows one at a time, start → result, p50/p99.
 *
 * Other benches import `measureTemporalCeiling` to print their own figures beside this ceiling, from the same run.
 * BENCH_TEMPORAL_WORKER_OPTIONS (JSON) overrides worker options, for A/B runs of the worker's tuning.
 */
import { loadavg } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { exitOnFailure } from '../lib/main';
import { percentile } from '../stores/projection-lag';
import { activityInterceptors } from '../workers/observability';
import {
  benchActivityWorkflow,
  type BenchActivities,
  benchEmptyWorkflow,
  benchLocalActivityWorkflow,
  benchThreeActivitiesWorkflow,
} from './temporal-workflows';

/** The shapes, cheapest first; every projection is one of these plus its own I/O. */
export const CEILING_SHAPES = {
  empty: { label: 'empty', workflow: benchEmptyWorkflow },
  localActivity: { label: 'one local activity', workflow: benchLocalActivityWorkflow },
  activity: { label: 'one activity', workflow: benchActivityWorkflow },
  threeActivities: { label: 'three activities', workflow: benchThreeActivitiesWorkflow },
} as const;
export type CeilingShape = keyof typeof CEILING_SHAPES;

export interface CeilingOptions {
  address?: string;
  namespace?: string;
  total?: number;
  concurrency?: number;
  latencyRuns?: number;
  shapes?: CeilingShape[];
  /** Worker options beyond the ones the project's workers set. */
  workerOptions?: Partial<WorkerOptions>;
}

export interface ShapeFigures {
  shape: CeilingShape;
  label: string;
  workflowsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

export interface CeilingResult {
  address: string;
  total: number;
  concurrency: number;
  latencyRuns: number;
  loadStart: number[];
  loadEnd: number[];
  rows: ShapeFigures[];
}

const WARMUP_RUNS = 5;

/** Runs every shape on a fresh task queue with an in-process worker and returns its rate and latency. */
export async function measureTemporalCeiling(opts: CeilingOptions = {}): Promise<CeilingResult> {
  const config = loadConfig();
  const address = opts.address ?? config.TEMPORAL_ADDRESS;
  const namespace = opts.namespace ?? config.TEMPORAL_NAMESPACE;
  const total = opts.total ?? 300;
  const concurrency = opts.concurrency ?? 32;
  const latencyRuns = opts.latencyRuns ?? 100;
  const shapes = opts.shapes ?? (Object.keys(CEILING_SHAPES) as CeilingShape[]);
  const loadStart = loadavg();
  const taskQueue = `bench-temporal-${Date.now()}-${process.pid}`;
  const activities: BenchActivities = { benchEcho: async (n) => n };
  const nativeConnection = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace });
  // The same options the project's workers set (workers/shared.ts), so the ceiling is theirs.
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace,
    taskQueue,
    workflowsPath: require.resolve('./temporal-workflows'),
    activities,
    interceptors: { activity: [activityInterceptors(createLogger('bench-temporal', 'warn'))] },
    ...opts.workerOptions,
  });
  let seq = 0;
  const runOne = async (shape: CeilingShape): Promise<number> => {
    const t0 = performance.now();
    const n = seq++;
    await client.workflow.execute(CEILING_SHAPES[shape].workflow, {
      taskQueue,
      workflowId: `${taskQueue}/${shape}/${n}`,
      args: [n],
    });
    return performance.now() - t0;
  };
  const rows: ShapeFigures[] = [];
  try {
    await worker.runUntil(async () => {
      for (const shape of shapes) {
        for (let i = 0; i < WARMUP_RUNS; i++) await runOne(shape);
        let next = 0;
        const t0 = performance.now();
        await Promise.all(
          Array.from({ length: Math.min(concurrency, total) }, async () => {
            while (next < total) {
              next++;
              await runOne(shape);
            }
          }),
        );
        const workflowsPerSec = total / ((performance.now() - t0) / 1000);
        const latencies: number[] = [];
        for (let i = 0; i < latencyRuns; i++) latencies.push(await runOne(shape));
        latencies.sort((a, b) => a - b);
        rows.push({
          shape,
          label: CEILING_SHAPES[shape].label,
          workflowsPerSec,
          p50Ms: percentile(latencies, 50),
          p99Ms: percentile(latencies, 99),
        });
      }
    });
  } finally {
    await connection.close();
    await nativeConnection.close();
  }
  return { address, total, concurrency, latencyRuns, loadStart, loadEnd: loadavg(), rows };
}

const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');

/** The ceiling as a table, then one JSON line for scripts. */
export function printCeiling(r: CeilingResult): void {
  console.log(
    `# Temporal ceiling on ${r.address}: ${r.total} workflows at c=${r.concurrency}, ${r.latencyRuns} at c=1`,
  );
  console.log('| workflow | wf/s at c=' + r.concurrency + ' | p50 ms at c=1 | p99 ms at c=1 |');
  console.log('|---|---|---|---|');
  for (const row of r.rows) {
    console.log(
      `| ${row.label} | ${row.workflowsPerSec.toFixed(0)} | ${row.p50Ms.toFixed(0)} | ${row.p99Ms.toFixed(0)} |`,
    );
  }
  console.log(`load average (1/5/15 min): start ${load(r.loadStart)}, end ${load(r.loadEnd)}`);
  console.log(JSON.stringify({ bench: 'temporal', ...r }));
}

async function main(): Promise<void> {
  const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
  const workerOptions = process.env.BENCH_TEMPORAL_WORKER_OPTIONS;
  const result = await measureTemporalCeiling({
    total: num('BENCH_TEMPORAL_TOTAL', 300),
    concurrency: num('BENCH_TEMPORAL_CONCURRENCY', 32),
    latencyRuns: num('BENCH_TEMPORAL_LATENCY_RUNS', 100),
    shapes: process.env.BENCH_TEMPORAL_SHAPES?.split(',') as CeilingShape[] | undefined,
    workerOptions: workerOptions ? (JSON.parse(workerOptions) as Partial<WorkerOptions>) : undefined,
  });
  printCeiling(result);
}

if (require.main === module) {
  exitOnFailure(main());
}
