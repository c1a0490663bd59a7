import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import { OperationsService } from '../../gen/feedflow/v1/operations_pb';
import { connectMongo, connectTemporal } from '../../lib/clients';
import { loadConfig, type Config } from '../../lib/config';
import { createLogger, type Logger } from '../../lib/logger';
import { countStuckProjectionsWith, startMetricsServer } from '../../lib/metrics';
import { closeFeedCacheWriter } from '../../stores/feed-cache';
import { startFeedflowServer } from '../shared/feedflow-server';
import { closeOnSignals, exitOnStartFailure, serve, type GrpcServer } from '../shared/grpc-server';
import { createFailedProjections } from './failed';
import { createOperationsService } from './service';

/**
 * Wires the operations service onto a gRPC server, and counts stuck projections for `feedflow_projections_stuck` at
 * each scrape of this process. Clients are owned by the caller.
 */
export async function startOperationsServer(deps: {
  config: Config;
  db: Db;
  temporal: Client;
  logger: Logger;
  port?: number;
}): Promise<GrpcServer> {
  const { config, db, temporal, logger } = deps;
  const server = await startFeedflowServer({
    name: 'operations',
    port: deps.port ?? config.OPERATIONS_PORT,
    services: [serve(OperationsService, createOperationsService({ db, temporal, config }))],
    config,
    logger,
  });
  const failed = createFailedProjections(temporal, config.TASK_QUEUE_PREFIX, config.STUCK_PROJECTION_AFTER_MS);
  const stopCounting = countStuckProjectionsWith(() => failed.countStuck());
  return {
    ...server,
    close: async () => {
      stopCounting();
      await server.close();
    },
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('operations', config.LOG_LEVEL);
  const { mongo, db } = await connectMongo(config);
  const temporal = await connectTemporal(config);
  const server = await startOperationsServer({ config, db, temporal, logger });
  const metricsServer = await startMetricsServer(config.OPERATIONS_METRICS_PORT, config.METRICS_HOST);
  logger.info({ port: metricsServer.port }, 'metrics at /metrics');
  closeOnSignals(
    logger,
    server.close,
    () => metricsServer.close(),
    () => temporal.connection.close(),
    () => mongo.close(),
    closeFeedCacheWriter,
  );
}

if (require.main === module) exitOnStartFailure(main);
