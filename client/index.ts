import type { DescService } from '@bufbuild/protobuf';
import { type Client, createClient, type Interceptor, type Transport } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { CommandService } from '../gen/feedflow/v1/command_pb';
import { DiagnosticsService } from '../gen/feedflow/v1/diagnostics_pb';
import { FeedService } from '../gen/feedflow/v1/feed_pb';
import { OperationsService } from '../gen/feedflow/v1/operations_pb';

/**
 * Typed clients of feedflow's three services, and of the Echo every server answers, for internal callers and the
 * project's own scripts and benchmarks, over connect-es speaking gRPC: every call carries the caller's bearer token
 * and a deadline (the default unless the call passes its own `timeoutMs`).
 *
 *   const feed = createQueryClient({ address: 'feed.internal:50052', token: process.env.FEEDFLOW_TOKEN! });
 *   const page = await feed.getFeed({ viewerId, pageSize: 20 }, { timeoutMs: 500 });
 */

// The messages and enums of the API, for building requests and reading answers.
export * from '../gen/feedflow/v1/common_pb';
export * from '../gen/feedflow/v1/command_pb';
export * from '../gen/feedflow/v1/diagnostics_pb';
export * from '../gen/feedflow/v1/feed_pb';
export * from '../gen/feedflow/v1/operations_pb';
export { Code, ConnectError } from '@connectrpc/connect';

export interface FeedflowClientOptions {
  /** `host:port` (gRPC over cleartext HTTP/2) or a full `http://` / `https://` URL. */
  address: string;
  /** The caller's token, sent as `authorization: Bearer <token>`. */
  token: string;
  /** Deadline of a call that sets none, in milliseconds; default 10 s. */
  defaultTimeoutMs?: number;
  /** Run before the auth header is set, e.g. for tracing or logging. */
  interceptors?: Interceptor[];
}

export type CommandClient = Client<typeof CommandService>;
export type QueryClient = Client<typeof FeedService>;
export type OperationsClient = Client<typeof OperationsService>;
export type DiagnosticsClient = Client<typeof DiagnosticsService>;

const DEFAULT_TIMEOUT_MS = 10_000;

function bearer(token: string): Interceptor {
  return (next) => (req) => {
    req.header.set('authorization', `Bearer ${token}`);
    return next(req);
  };
}

/** One HTTP/2 connection per transport; share a transport between clients of the same address. */
export function createFeedflowTransport(opts: FeedflowClientOptions): Transport {
  if (!opts.address) throw new Error('feedflow client: address is required');
  if (!opts.token) throw new Error('feedflow client: token is required');
  const timeoutMs = opts.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw new Error('feedflow client: defaultTimeoutMs must be positive');
  return createGrpcTransport({
    baseUrl: /^https?:\/\//.test(opts.address) ? opts.address : `http://${opts.address}`,
    interceptors: [...(opts.interceptors ?? []), bearer(opts.token)],
    defaultTimeoutMs: timeoutMs,
  });
}

function clientOf<T extends DescService>(service: T, opts: FeedflowClientOptions | Transport): Client<T> {
  const transport = 'address' in opts ? createFeedflowTransport(opts) : opts;
  return createClient(service, transport);
}

/** feedflow.v1.CommandService (token scope `commands`). */
export const createCommandClient = (opts: FeedflowClientOptions | Transport): CommandClient =>
  clientOf(CommandService, opts);

/** feedflow.v1.FeedService (token scope `queries`). */
export const createQueryClient = (opts: FeedflowClientOptions | Transport): QueryClient => clientOf(FeedService, opts);

/** feedflow.v1.OperationsService (token scope `operations`). */
export const createOperationsClient = (opts: FeedflowClientOptions | Transport): OperationsClient =>
  clientOf(OperationsService, opts);

/** feedflow.v1.DiagnosticsService, served by every feedflow server to any token: an Echo that does no work. */
export const createDiagnosticsClient = (opts: FeedflowClientOptions | Transport): DiagnosticsClient =>
  clientOf(DiagnosticsService, opts);
