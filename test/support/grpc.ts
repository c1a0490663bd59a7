import type { DescService } from '@bufbuild/protobuf';
import { createClient, type Client, type Interceptor } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';

/** A real gRPC client over HTTP/2 to a server on a real port, with an optional bearer token. */
export function grpcClient<T extends DescService>(service: T, port: number, token?: string): Client<T> {
  const auth: Interceptor = (next) => (req) => {
    if (token) req.header.set('authorization', `Bearer ${token}`);
    return next(req);
  };
  const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, interceptors: [auth] });
  return createClient(service, transport);
}

/** Resolves to the ConnectError code a call fails with, or throws if it succeeds. */
export async function codeOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
  } catch (err) {
    return (err as { code: number }).code;
  }
  throw new Error('expected the call to fail');
}
