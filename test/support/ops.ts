import type { Client } from '@temporalio/client';
import { OperationsService } from '../../gen/feedflow/v1/operations_pb';
import { createLogger } from '../../lib/logger';
import { startOperationsServer } from '../../services/operations/server';
import type { GrpcServer } from '../../services/shared/grpc-server';
import type { TestStores } from './env';
import { grpcClient } from './grpc';

export type OpsClient = ReturnType<typeof grpcClient<typeof OperationsService>>;

/** An operations server on a harness's stores and Temporal client, on a free port, and a client calling it. */
export async function startOps(
  h: { stores: TestStores; temporal: Client },
  name: string,
): Promise<{ server: GrpcServer; ops: OpsClient }> {
  const server = await startOperationsServer({
    config: h.stores.config,
    db: h.stores.db,
    temporal: h.temporal,
    logger: createLogger(name, 'silent'),
    port: 0,
  });
  return { server, ops: grpcClient(OperationsService, server.port, 'dev-ops') };
}
