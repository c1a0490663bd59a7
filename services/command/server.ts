import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import { CommandService } from '../../gen/feedflow/v1/command_pb';
import { createOutbox } from '../../handoff/index';
import { connectMongo, connectTemporal } from '../../lib/clients';
import { loadConfig, type Config } from '../../lib/config';
import { createLogger, type Logger } from '../../lib/logger';
import { startMetricsServer } from '../../lib/metrics';
import { ensureQueryIndexes } from '../../stores/pushdown';
import { ensureWriteModelIndexes, writeModel } from '../../stores/write-model';
import { startFeedflowServer } from '../shared/feedflow-server';
import { closeOnSignals, serve, type GrpcServer } from '../shared/grpc-server';
import { createCommitter } from './commit';
import { createCommandHandlers } from './handlers/index';
import { createRuleModerator } from './moderation';
import { createRateLimiter } from './rate-limits';
import { createCommandService } from './service';

export interface CommandServer extends GrpcServer {
  /** Runs one outbox sweep now, the same hand-off code the Schedule runs (tests). */
  sweep(olderThanMs: number): Promise<number>;
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
}): Promise<CommandServer> {
  const { config, db, temporal, logger } = deps;
  await ensureWriteModelIndexes(db);
  await ensureQueryIndexes(db, config);
  const wm = writeModel(db);
  const outbox = createOutbox({ wm, temporal, config, logger });
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
  return { ...server, sweep: (olderThanMs) => outbox.sweep(olderThanMs) };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('command', config.LOG_LEVEL);
  const { mongo, db } = await connectMongo(config);
  const temporal = await connectTemporal(config);
  const server = await startCommandServer({ config, db, temporal, logger });
  const metricsServer = await startMetricsServer(config.COMMAND_METRICS_PORT, config.METRICS_HOST);
  logger.info({ port: metricsServer.port }, 'metrics at /metrics');
  closeOnSignals(
    logger,
    server.close,
    () => temporal.connection.close(),
    () => mongo.close(),
  );
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
