import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Db } from 'mongodb';
import { CommandService } from '../../gen/feedflow/v1/command_pb';
import { createOutbox } from '../../handoff/index';
import { connectGraph, connectMongo } from '../../lib/clients';
import { loadConfig, type Config } from '../../lib/config';
import { createLogger, type Logger } from '../../lib/logger';
import { startMetricsServer } from '../../lib/metrics';
import { closeFeedCacheWriter } from '../../stores/feed-cache';
import { createGraph } from '../../stores/graph';
import { ensureQueryIndexes } from '../../stores/pushdown';
import { ensureWriteModelIndexes, writeModel } from '../../stores/write-model';
import { startFirstHopWorkers } from '../../workers/first-hop';
import { installRuntimeLogger } from '../../workers/observability';
import { startFeedflowServer } from '../shared/feedflow-server';
import { closeOnSignals, exitOnStartFailure, serve, type GrpcServer } from '../shared/grpc-server';
import { createCommitter } from './commit';
import { createCommandHandlers } from './handlers/index';
import { createRuleModerator } from './moderation';
import { createRateLimiter } from './rate-limits';
import { createCommandService } from './service';

export interface CommandServer extends GrpcServer {
  /** Runs one outbox sweep now, the same hand-off code the Schedule runs (tests). */
  sweep(olderThanMs: number): Promise<number>;
  /** Resolves once the workflow starts of every command answered so far have been made (or given up on). */
  drain(): Promise<void>;
}

/**
 * Wires the command service onto a gRPC server. Events a command left pending are swept by the outbox Schedule in
 * the projection worker, not here. Clients are owned by the caller.
 */
export async function startCommandServer(deps: {
  config: Config;
  db: Db;
  temporal: Client;
  logger: Logger;
  port?: number;
  /** `temporal` shares a NativeConnection with first-hop workers (workers/first-hop.ts): starts are eager. */
  eager?: boolean;
}): Promise<CommandServer> {
  const { config, db, temporal, logger } = deps;
  await ensureWriteModelIndexes(db);
  await ensureQueryIndexes(db, config);
  const wm = writeModel(db);
  const outbox = createOutbox({ wm, temporal, config, logger, eager: deps.eager });
  const committer = createCommitter({ wm, outbox, config });
  const handlers = createCommandHandlers({
    wm,
    committer,
    moderator: createRuleModerator(config),
    limiter: createRateLimiter(config),
  });
  const server = await startFeedflowServer({
    name: 'command',
    port: deps.port ?? config.COMMAND_PORT,
    services: [
      serve(
        CommandService,
        createCommandService(handlers, (meta) => committer.replayIfSeen(meta)),
      ),
    ],
    config,
    logger,
  });
  return {
    ...server,
    // Stop taking commands first, then let the starts of those already answered leave.
    close: async () => {
      await server.close();
      await outbox.close(config.GRPC_DRAIN_TIMEOUT_MS);
    },
    sweep: (olderThanMs) => outbox.sweep(olderThanMs),
    drain: () => outbox.drain(),
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('command', config.LOG_LEVEL);
  installRuntimeLogger(logger);
  const { mongo, db } = await connectMongo(config);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const driver = config.FIRST_HOP_WORKERS ? connectGraph(config) : undefined;
  const firstHop = driver
    ? await startFirstHopWorkers({ connection, config, db, graph: createGraph(driver, config.GRAPH_DIALECT), logger })
    : undefined;
  const temporal = firstHop?.client ?? new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const server = await startCommandServer({ config, db, temporal, logger, eager: !!firstHop });
  const metricsServer = await startMetricsServer(config.COMMAND_METRICS_PORT, config.METRICS_HOST);
  logger.info({ port: metricsServer.port, firstHop: !!firstHop }, 'metrics at /metrics');
  closeOnSignals(
    logger,
    server.close,
    async () => firstHop?.stop(),
    () => connection.close(),
    async () => driver?.close(),
    () => mongo.close(),
    closeFeedCacheWriter,
  );
}

if (require.main === module) exitOnStartFailure(main);
