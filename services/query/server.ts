import type { Client } from '@temporalio/client';
import { Redis } from 'ioredis';
import type { Db } from 'mongodb';
import type { Driver } from 'neo4j-driver';
import { DAY_MS } from '../../domain/time';
import { FeedService } from '../../gen/feedflow/v1/feed_pb';
import { connectGraph, connectMongo, connectTemporal } from '../../lib/clients';
import { loadConfig, searchAliasOf, type Config } from '../../lib/config';
import { createLogger, type Logger } from '../../lib/logger';
import { startMetricsServer } from '../../lib/metrics';
import { feedCacheKeys, feedCacheRedisOptions, closeFeedCacheWriter } from '../../stores/feed-cache';
import { createGraph } from '../../stores/graph';
import { detectIdLookup } from '../../stores/lookup';
import { ensureQueryIndexes } from '../../stores/pushdown';
import { createReadTimeSources } from '../../stores/read-time';
import { connectSearch } from '../../stores/search';
import { startFeedflowServer } from '../shared/feedflow-server';
import { closeOnSignals, exitOnStartFailure, serve, type GrpcServer } from '../shared/grpc-server';
import { createFeedCache, type FeedCache } from './cache';
import { createInvalidationChannel, type InvalidationChannel } from './channel';
import { createConsistencyWaiter } from './consistency';
import { createCursorCodec } from './cursor';
import { createFeedReader } from './feed';
import { boundedGraph, optionalDiscovery } from './graph-deadline';
import { createItemSource } from './items';
import { createSafetyNet } from './safety';
import { createSearchPosts } from './search';
import { createFeedService } from './service';
import { createTailReader } from './tail';
import { createViewerStates } from './viewer-state';
import { createWindowBuilder } from './window';

export interface QueryServer extends GrpcServer {
  cache: FeedCache;
  channel: InvalidationChannel;
  /** The feed cache's command connection (tests count its round trips). */
  cacheRedis: Redis;
}

/** The feed cache and its invalidation channel, each on its own Redis connection. */
function openFeedCache(config: Config, db: Db, logger: Logger) {
  const keys = feedCacheKeys(db.databaseName);
  // Two connections: one blocked on the invalidation streams, one for cache reads and writes.
  const redis = new Redis(config.REDIS_URL, feedCacheRedisOptions('feedflow-query'));
  // Commands fail to their callers, which fall back to the read models; these are the reconnect attempts.
  redis.on('error', () => undefined);
  const channel = createInvalidationChannel(
    new Redis(config.REDIS_URL, feedCacheRedisOptions('feedflow-query-channel')),
    keys,
    logger,
  );
  const cache = createFeedCache({
    redis,
    keys,
    channel,
    logger,
    sessions: config.FEED_CACHE_ENABLED,
    maxEntries: config.FEED_CACHE_MAX_ENTRIES,
    sessionMaxAgeMs: config.FEED_SESSION_MAX_AGE_MS,
  });
  return { redis, channel, cache };
}

/** Wires the feed service onto a gRPC server. Clients are owned by the caller, except the feed cache's Redis. */
export async function startQueryServer(deps: {
  config: Config;
  db: Db;
  graph: Driver;
  temporal: Client;
  logger: Logger;
  port?: number;
}): Promise<QueryServer> {
  const { config, db, logger } = deps;
  await ensureQueryIndexes(db, config);
  const { redis, channel, cache } = openFeedCache(config, db, logger);
  const cursors = createCursorCodec(config.CURSOR_SECRET);
  const lookup = await detectIdLookup(db);
  const graph = boundedGraph(createGraph(deps.graph, config.GRAPH_DIALECT), config.GRAPH_READ_TIMEOUT_MS);
  const safety = createSafetyNet(db, lookup);
  const items = createItemSource(db, lookup);
  const window = {
    windowSize: config.FEED_WINDOW_SIZE,
    halfLifeMs: config.FEED_HALF_LIFE_HOURS * 3_600_000,
    pullLookbackMs: config.PULL_LOOKBACK_DAYS * DAY_MS,
  };
  const readTime = optionalDiscovery(
    createReadTimeSources(db, graph, {
      pullLookbackMs: window.pullLookbackMs,
      secondDegreeAuthors: config.FEED_SECOND_DEGREE_AUTHORS,
    }),
    (err, viewerId) => logger.warn({ err, viewerId }, 'discovery left out: the graph is unavailable'),
  );
  const searchClient = connectSearch(config);
  const reader = createFeedReader({
    db,
    items,
    cache,
    states: createViewerStates({ db, lookup, items, readTime, windowSize: window.windowSize }),
    windows: createWindowBuilder({ items, safetyNet: safety, channel, config: window }),
    tail: createTailReader({ db, lookup, items, safety, readTime, config: { ...window, feedCap: config.FEED_CAP } }),
    readTime,
    cursors,
    windowSize: window.windowSize,
  });
  const service = createFeedService({
    db,
    graph,
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
  return {
    ...server,
    cache,
    channel,
    cacheRedis: redis,
    async close() {
      await server.close();
      await channel.close();
      redis.disconnect();
      await searchClient.close();
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
    closeFeedCacheWriter,
  );
}

if (require.main === module) exitOnStartFailure(main);
