import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import type { Driver } from 'neo4j-driver';
import { FeedService } from '../../gen/feedflow/v1/feed_pb';
import { connectGraph, connectMongo, connectTemporal } from '../../lib/clients';
import { loadConfig, searchAliasOf, type Config } from '../../lib/config';
import { createLogger, type Logger } from '../../lib/logger';
import { startMetricsServer } from '../../lib/metrics';
import {
  bucketsBetween,
  ensureFeedCacheIndexes,
  INVALIDATION_BUCKET_MS,
  INVALIDATIONS,
  type InvalidationDoc,
} from '../../stores/feed-cache';
import { createGraph } from '../../stores/graph';
import { detectIdLookup, type IdLookup } from '../../stores/lookup';
import { ensureQueryIndexes } from '../../stores/pushdown';
import { connectSearch } from '../../stores/search';
import { startFeedflowServer } from '../shared/feedflow-server';
import { closeOnSignals, serve, type GrpcServer } from '../shared/grpc-server';
import { createConsistencyWaiter } from './consistency';
import { createCursorCodec } from './cursor';
import { createFeedReader } from './feed';
import { createItemSource } from './items';
import { createSafetyNet } from './safety';
import { createSearchPosts } from './search';
import { createFeedService } from './service';
import { ACTIVITY_TTL_MS, createMongoSessionStore, createSessionCache, type SessionCache } from './sessions';

export interface QueryServer extends GrpcServer {
  cache: SessionCache;
}

/** How long after its `at` an invalidation may land and still reach the tail. */
const LATE_ENTRY_MS = 5_000;

/**
 * Tails the invalidation log the pipeline writes and evicts the named viewers' sessions from this process's L1.
 * L2 was already retired by the writer, so a missed tick only delays L1 by one poll.
 */
function tailInvalidations(
  db: Db,
  lookup: IdLookup,
  cache: SessionCache,
  pollMs: number,
  logger: Logger,
): () => Promise<void> {
  const log = db.collection<InvalidationDoc>(INVALIDATIONS);
  // Start far enough back to cover every L2 session that could still serve a first page.
  let since = new Date(Date.now() - ACTIVITY_TTL_MS.low);
  let floor = since.getTime();
  let running: Promise<void> = Promise.resolve();
  const tick = async (): Promise<void> => {
    const now = Date.now();
    // Read by time bucket (an equality FerretDB serves from an index), from the newest entry seen, but never more
    // than a few seconds behind the last tick: an entry that lands later than that after its own `at` is lost
    // to this L1 only, which the session's TTL bounds.
    const buckets = bucketsBetween(Math.max(since.getTime(), floor), now, INVALIDATION_BUCKET_MS);
    floor = now - LATE_ENTRY_MS;
    const docs = (await lookup.byValues(log, 'bucket', buckets, { at: { $gt: since } })).sort(
      (a, b) => a.at.getTime() - b.at.getTime(),
    );
    for (const d of docs) {
      cache.evictLocal(d.viewerIds, d.at.getTime());
      if (d.postId) cache.evictPost(d.postId);
      if (d.authorId) cache.evictAuthor(d.authorId);
      if (d.at > since) since = d.at;
    }
  };
  let busy = false;
  const timer = setInterval(() => {
    // One tick at a time: on a slow store, chaining a tick per interval would queue them without bound.
    if (busy) return;
    busy = true;
    running = tick()
      .catch((err) => logger.warn({ err }, 'invalidation tail failed'))
      .finally(() => {
        busy = false;
      });
  }, pollMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

/** Wires the feed service onto a gRPC server. Clients are owned by the caller. */
export async function startQueryServer(deps: {
  config: Config;
  db: Db;
  graph: Driver;
  temporal: Client;
  logger: Logger;
  port?: number;
}): Promise<QueryServer> {
  const { config, db, logger } = deps;
  const l2 = createMongoSessionStore(db);
  await Promise.all([l2.ensureIndexes(), ensureFeedCacheIndexes(db)]);
  await ensureQueryIndexes(db, config);
  const cache = createSessionCache(l2, {
    maxEntries: config.FEED_CACHE_MAX_ENTRIES,
    enabled: config.FEED_CACHE_ENABLED,
  });
  const cursors = createCursorCodec(config.CURSOR_SECRET);
  const lookup = await detectIdLookup(db);
  const safety = createSafetyNet(db, lookup);
  const items = createItemSource(db, lookup);
  const searchClient = connectSearch(config);
  const reader = createFeedReader({
    lookup,
    db,
    items,
    safety,
    sessions: cache,
    cursors,
    config: {
      windowSize: config.FEED_WINDOW_SIZE,
      halfLifeMs: config.FEED_HALF_LIFE_HOURS * 3_600_000,
      feedCap: config.FEED_CAP,
      pullLookbackMs: config.PULL_LOOKBACK_DAYS * 86_400_000,
      secondDegreeAuthors: config.FEED_SECOND_DEGREE_AUTHORS,
    },
    graph: createGraph(deps.graph, config.GRAPH_DIALECT),
  });
  const service = createFeedService({
    db,
    graph: createGraph(deps.graph, config.GRAPH_DIALECT),
    reader,
    items,
    safety,
    cursors,
    consistency: createConsistencyWaiter({ db, temporal: deps.temporal }),
    maxConsistencyWaitMs: config.CONSISTENCY_MAX_WAIT_MS,
    search: createSearchPosts({
      db,
      lookup,
      client: searchClient,
      alias: searchAliasOf(config),
      items,
      cursors,
      maxQueryChars: config.SEARCH_MAX_QUERY_CHARS,
    }),
  });
  const server = await startFeedflowServer({
    name: 'query',
    port: deps.port ?? config.QUERY_PORT,
    services: [serve(FeedService, service)],
    config,
    logger,
  });
  const stopTail = tailInvalidations(db, lookup, cache, config.INVALIDATION_POLL_MS, logger);
  const pruner = setInterval(() => {
    l2.prune(config.FEED_SESSION_MAX_AGE_MS).catch((err) => logger.warn({ err }, 'session prune failed'));
    db.collection(INVALIDATIONS)
      .deleteMany({ at: { $lt: new Date(Date.now() - 2 * ACTIVITY_TTL_MS.low) } })
      .catch((err) => logger.warn({ err }, 'invalidation prune failed'));
  }, 60_000);
  pruner.unref();
  return {
    ...server,
    cache,
    async close() {
      clearInterval(pruner);
      await server.close();
      await searchClient.close();
      await stopTail();
    },
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('query', config.LOG_LEVEL);
  const { mongo, db } = await connectMongo(config);
  const graph = connectGraph(config);
  const temporal = await connectTemporal(config);
  const server = await startQueryServer({ config, db, graph, temporal, logger });
  const metricsServer = await startMetricsServer(config.QUERY_METRICS_PORT, config.METRICS_HOST);
  logger.info({ port: metricsServer.port }, 'metrics at /metrics');
  closeOnSignals(
    logger,
    server.close,
    () => temporal.connection.close(),
    () => graph.close(),
    () => mongo.close(),
  );
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
