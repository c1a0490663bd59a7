import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics. One registry per process, served on its own port at /metrics. Names are prefixed
 * `feedflow_`; label sets stay small (no member or post ids).
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'feedflow_process_' });

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export const metrics = {
  rpcDuration: new Histogram({
    name: 'feedflow_rpc_duration_seconds',
    help: 'gRPC handling time by service, method and status code',
    labelNames: ['service', 'method', 'code'] as const,
    buckets: latencyBuckets,
    registers: [registry],
  }),
  cache: new Counter({
    name: 'feedflow_feed_cache_requests_total',
    help: 'Feed session cache lookups by level (l1, l2) and result (hit, miss)',
    labelNames: ['level', 'result'] as const,
    registers: [registry],
  }),
  projectionLag: new Histogram({
    name: 'feedflow_projection_lag_seconds',
    help: 'Command accepted to item projected (stage=projected) or scored (stage=scored)',
    labelNames: ['stage'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30],
    registers: [registry],
  }),
  feedPage: new Histogram({
    name: 'feedflow_feed_page_seconds',
    help: 'GetFeed first pages by where their session came from (l1, l2, miss, bypass, unavailable)',
    labelNames: ['tier'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1, 2],
    registers: [registry],
  }),
  feedCacheAvailable: new Gauge({
    name: 'feedflow_feed_cache_available',
    help: '1 while the feed cache (Redis) is reachable and its invalidation channel caught up, else 0',
    registers: [registry],
  }),
  feedCacheBypassed: new Counter({
    name: 'feedflow_feed_cache_unavailable_total',
    help: 'Feed pages served from the read models because the feed cache (Redis) could not be used',
    registers: [registry],
  }),
  lagBreaches: new Counter({
    name: 'feedflow_projection_lag_breaches_total',
    help: 'Projected items over an SLA threshold, by the worst one broken (target 50 ms, alert 200 ms, critical 1 s)',
    labelNames: ['level'] as const,
    registers: [registry],
  }),
  fanoutItems: new Counter({
    name: 'feedflow_fanout_items_written_total',
    help: 'Feed items written by projections',
    labelNames: ['operation'] as const,
    registers: [registry],
  }),
  projectionStarts: new Counter({
    name: 'feedflow_projection_starts_total',
    help: 'Projection workflow starts by the hand-off, by outcome: eager (the first task ran in this process), started, existing (already started), failed (left to retry or the outbox sweep)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  }),
  handoffQueued: new Gauge({
    name: 'feedflow_handoff_queued_events',
    help: 'Committed events a command server has not yet handed to Temporal',
    registers: [registry],
  }),
  outboxPending: new Gauge({
    name: 'feedflow_outbox_pending_events',
    help: 'Accepted events whose projection workflow is not started yet',
    registers: [registry],
  }),
  consistencyFindings: new Counter({
    name: 'feedflow_consistency_findings_total',
    help: 'Read-model drift found by consistency checks, by kind',
    labelNames: ['kind'] as const,
    registers: [registry],
  }),
  repairs: new Counter({
    name: 'feedflow_consistency_repairs_total',
    help: 'Repairs by result (repaired, failed)',
    labelNames: ['result'] as const,
    registers: [registry],
  }),
  repairFailures: new Counter({
    name: 'feedflow_consistency_repair_failures_total',
    help: 'Repairs that failed, by the kind of finding they were repairing',
    labelNames: ['kind'] as const,
    registers: [registry],
  }),
  stuckProjections: new Gauge({
    name: 'feedflow_projections_stuck',
    help: 'Running projections whose activity keeps failing past STUCK_PROJECTION_AFTER_MS, counted at each scrape by the operations server',
    registers: [registry],
    async collect() {
      if (!stuckCounter) return;
      try {
        this.set(await stuckCounter());
      } catch {
        // Temporal unreachable: the gauge keeps its last count and the scrape still answers.
      }
    },
  }),
  scoringBatch: new Histogram({
    name: 'feedflow_scoring_batch_seconds',
    help: 'Time to score one batch of feed items',
    buckets: latencyBuckets,
    registers: [registry],
  }),
};

/** Counts stuck projections at scrape time; set by the process that can see them (the operations server). */
let stuckCounter: (() => Promise<number>) | undefined;

/** Makes `feedflow_projections_stuck` count with `count` at each scrape; the returned function restores the former. */
export function countStuckProjectionsWith(count: () => Promise<number>): () => void {
  const former = stuckCounter;
  stuckCounter = count;
  return () => {
    if (stuckCounter === count) stuckCounter = former;
  };
}

/** The seed's SLA thresholds for projection lag, in seconds. */
export const LAG_SLA = { target: 0.05, alert: 0.2, critical: 1 } as const;

/** Records the accepted→projected (or →scored) lag of `items` items and any SLA breach, by the worst level broken. */
export function recordLag(stage: 'projected' | 'scored', seconds: number, items = 1): void {
  for (let i = 0; i < items; i++) metrics.projectionLag.observe({ stage }, seconds);
  if (stage !== 'projected' || items < 1) return;
  if (seconds > LAG_SLA.critical) metrics.lagBreaches.inc({ level: 'critical' }, items);
  else if (seconds > LAG_SLA.alert) metrics.lagBreaches.inc({ level: 'alert' }, items);
  else if (seconds > LAG_SLA.target) metrics.lagBreaches.inc({ level: 'target' }, items);
}

/** Times every RPC, labelled by its final status code. */
export function metricsInterceptor(): Interceptor {
  return (next) => async (req) => {
    const end = metrics.rpcDuration.startTimer({ service: req.service.typeName, method: req.method.name });
    try {
      const res = await next(req);
      end({ code: 'OK' });
      return res;
    } catch (err) {
      end({ code: Code[ConnectError.from(err).code] ?? 'Unknown' });
      throw err;
    }
  };
}

/** Serves /metrics on 127.0.0.1 (or host) at the port; 0 picks a free one. */
export async function startMetricsServer(
  port: number,
  host = '127.0.0.1',
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry
      .metrics()
      .then((body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body))
      .catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
