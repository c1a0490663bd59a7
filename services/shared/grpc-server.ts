import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { DescService } from '@bufbuild/protobuf';
import type { ConnectRouter, Interceptor, ServiceImpl } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { DiagnosticsService } from '../../gen/feedflow/v1/diagnostics_pb';
import { Health, HealthCheckResponse_ServingStatus as Status } from '../../gen/grpc/health/v1/health_pb';
import { ServerReflection } from '../../gen/grpc/reflection/v1/reflection_pb';
import type { Logger } from '../../lib/logger';
import { createDiagnosticsService } from '../diagnostics/service';
import { createHealthService, HealthState } from '../health/service';
import { createReflectionService } from '../reflection/service';

/** One service to host: its descriptor and its implementation. */
export interface ServiceRegistration {
  desc: DescService;
  register(router: ConnectRouter): void;
}

export function serve<T extends DescService>(desc: T, impl: Partial<ServiceImpl<T>>): ServiceRegistration {
  return { desc, register: (router) => void router.service(desc, impl) };
}

export interface GrpcServerOptions {
  /** Process name, answered by Echo and used in logs. */
  name: string;
  host?: string;
  /** 0 picks a free port (tests). */
  port: number;
  services: ServiceRegistration[];
  maxMessageBytes: number;
  drainTimeoutMs: number;
  interceptors?: Interceptor[];
  logger: Logger;
}

export interface GrpcServer {
  port: number;
  health: HealthState;
  /** Stops taking new calls, lets in-flight calls finish (up to the drain timeout), then closes. */
  close(): Promise<void>;
}

/**
 * Serves the given services over the gRPC protocol on HTTP/2 cleartext, beside grpc.health.v1, server
 * reflection and the Echo diagnostics RPC.
 */
export async function startGrpcServer(opts: GrpcServerOptions): Promise<GrpcServer> {
  const health = new HealthState();
  const shutdown = new AbortController();
  const all: ServiceRegistration[] = [...opts.services, serve(Health, createHealthService(health))];
  if (!opts.services.some((s) => s.desc.typeName === DiagnosticsService.typeName)) {
    all.push(serve(DiagnosticsService, createDiagnosticsService(opts.name)));
  }
  const reflected = [...all.map((s) => s.desc), ServerReflection];
  all.push(serve(ServerReflection, createReflectionService(reflected)));

  const handler = connectNodeAdapter({
    grpc: true,
    grpcWeb: false,
    connect: false,
    readMaxBytes: opts.maxMessageBytes,
    writeMaxBytes: opts.maxMessageBytes,
    shutdownSignal: shutdown.signal,
    interceptors: opts.interceptors ?? [],
    routes: (router) => all.forEach((s) => s.register(router)),
  });

  const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } }, (req, res) => {
    rewriteStatus(res);
    handler(req, res);
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    // A misbehaving client must not crash the process.
    session.on('error', (err) => opts.logger.debug({ err }, 'http2 session error'));
  });
  server.on('error', (err) => opts.logger.error({ err }, 'http2 server error'));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  health.set('', Status.SERVING);
  for (const s of opts.services) health.set(s.desc.typeName, Status.SERVING);
  opts.logger.info({ port, services: reflected.map((d) => d.typeName) }, 'grpc server listening');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      opts.logger.info({ inFlightSessions: sessions.size }, 'draining grpc server');
      health.drain();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // GOAWAY: clients stop opening streams on these sessions, streams already open run to completion.
      for (const s of sessions) s.close();
      const timer = setTimeout(() => {
        opts.logger.warn({ remaining: sessions.size }, 'drain timeout, cancelling remaining calls');
        shutdown.abort();
        for (const s of sessions) s.destroy();
      }, opts.drainTimeoutMs);
      timer.unref();
      await closed;
      clearTimeout(timer);
      shutdown.abort();
      opts.logger.info('grpc server closed');
    })());

  return { port, health, close };
}

/**
 * Rewrites each response's status on its way out. The framework writes `grpc-message` with encodeURIComponent,
 * which escapes commas, semicolons, slashes and more that the gRPC spec leaves plain; @grpc/grpc-js undoes it
 * with decodeURI, which leaves those escapes in the text its callers read. The header is re-encoded the spec's
 * way, so every client reads the exact message. And the framework decodes request messages before any
 * interceptor runs, reporting an undecodable one as INTERNAL: for the caller that is bad input, so the status
 * becomes INVALID_ARGUMENT.
 */
function rewriteStatus(res: http2.Http2ServerResponse): void {
  const addTrailers = res.addTrailers.bind(res);
  res.addTrailers = (trailers) => {
    const raw = trailers['grpc-message'];
    if (typeof raw === 'string') {
      let message = decodeFrameworkMessage(raw);
      if (trailers['grpc-status'] === '13' && message.startsWith('parse binary')) {
        trailers['grpc-status'] = '3';
        message = `malformed request message: ${message}`;
      }
      trailers['grpc-message'] = encodeGrpcMessage(message);
    }
    addTrailers(trailers);
  };
}

function decodeFrameworkMessage(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * The spec's percent-encoding of `grpc-message`: UTF-8 bytes outside printable ASCII (0x20-0x7E), and '%'
 * itself, become %XX; everything else stays as it is.
 */
export function encodeGrpcMessage(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Closes the server and then the process's clients on SIGTERM or SIGINT, once. */
export function closeOnSignals(logger: Logger, ...closers: Array<() => Promise<unknown>>): void {
  let done = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (done) return;
    done = true;
    logger.info({ signal }, 'shutting down');
    void (async () => {
      for (const c of closers) {
        try {
          await c();
        } catch (err) {
          logger.error({ err }, 'error during shutdown');
        }
      }
      process.exit(0);
    })();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** Runs a server's main. A start-up failure prints its message alone (a config error names its variable), exits 1. */
export function exitOnStartFailure(main: () => Promise<void>): void {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
