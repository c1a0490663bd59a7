import type { Config } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import { metricsInterceptor } from '../../lib/metrics';
import { authInterceptor } from './auth';
import { errorInterceptor } from './errors';
import { type GrpcServer, type ServiceRegistration, startGrpcServer } from './grpc-server';
import { textInterceptor } from './text';

/**
 * A feedflow gRPC server: the given services with the house limits and interceptors, outermost first: latency
 * metrics per RPC and code, domain-error mapping (unexpected errors logged), bearer-token scopes, then the refusal
 * of NUL characters in any request string (see ./text).
 */
export function startFeedflowServer(opts: {
  name: string;
  port: number;
  services: ServiceRegistration[];
  config: Pick<Config, 'GRPC_MAX_MESSAGE_BYTES' | 'GRPC_DRAIN_TIMEOUT_MS' | 'FEEDFLOW_TOKENS'>;
  logger: Logger;
}): Promise<GrpcServer> {
  const { config, logger } = opts;
  return startGrpcServer({
    name: opts.name,
    port: opts.port,
    services: opts.services,
    maxMessageBytes: config.GRPC_MAX_MESSAGE_BYTES,
    drainTimeoutMs: config.GRPC_DRAIN_TIMEOUT_MS,
    interceptors: [
      metricsInterceptor(),
      errorInterceptor((err, method) => logger.error({ err, method }, 'unexpected error')),
      authInterceptor(config.FEEDFLOW_TOKENS),
      textInterceptor(),
    ],
    logger,
  });
}
