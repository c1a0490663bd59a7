/**
 * Prints the projection lag distribution (command accepted → feed item projected) of recent feed items.
 *
 *   npx tsx scripts/lag-report.ts [--since 15m|2h|1d] [--reason own|connection|follow|backfill] [--json]
 */
import { parseArgs } from 'node:util';
import type { PushedReason } from '../domain/reasons';
import { connectMongo } from '../lib/clients';
import { loadConfig } from '../lib/config';
import { projectionLag } from '../stores/projection-lag';
import { readModel } from '../stores/read-model';

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function parseSince(raw: string): Date {
  const m = /^(\d+)([smhd])$/.exec(raw);
  if (!m) throw new Error(`--since: expected a duration like 15m, 2h or 1d, got "${raw}"`);
  return new Date(Date.now() - Number(m[1]) * UNITS[m[2]]);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      since: { type: 'string', default: '1h' },
      reason: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const reasons = ['own', 'connection', 'follow', 'backfill'];
  if (values.reason && !reasons.includes(values.reason)) {
    throw new Error(`--reason: expected one of ${reasons.join(', ')}`);
  }
  const config = loadConfig();
  const { mongo, db } = await connectMongo(config);
  try {
    const lag = await projectionLag(readModel(db), {
      since: parseSince(values.since!),
      reason: values.reason as PushedReason | undefined,
    });
    if (values.json) {
      console.log(JSON.stringify(lag));
      return;
    }
    const ms = (v: number) => `${Math.round(v)} ms`;
    console.log(`projection lag, items projected in the last ${values.since} (${config.MONGODB_DB}.feed_items)`);
    console.log(`  items ${lag.count}   mean ${ms(lag.mean)}`);
    console.log(
      `  min ${ms(lag.min)}   p50 ${ms(lag.p50)}   p90 ${ms(lag.p90)}   p99 ${ms(lag.p99)}   max ${ms(lag.max)}`,
    );
    const widest = Math.max(1, ...lag.histogram.map((b) => b.count));
    for (const b of lag.histogram) {
      const label = b.le === Infinity ? '   > 5000 ms' : `<= ${String(b.le).padStart(5)} ms`;
      console.log(`  ${label} ${String(b.count).padStart(8)} ${'#'.repeat(Math.round((40 * b.count) / widest))}`);
    }
  } finally {
    await mongo.close();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
