import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as http2 from 'node:http2';
import { promisify } from 'node:util';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import * as grpc from '@grpc/grpc-js';
import { DomainError } from '../domain/errors';
import { CommandService, UpdatePostRequestSchema, UpdatePostResponseSchema } from '../gen/feedflow/v1/command_pb';
import { DiagnosticsService, EchoRequestSchema, EchoResponseSchema } from '../gen/feedflow/v1/diagnostics_pb';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { authInterceptor } from '../services/shared/auth';
import { errorInterceptor } from '../services/shared/errors';
import { type GrpcServer, serve, startGrpcServer } from '../services/shared/grpc-server';
import { type CommandHarness, startCommandHarness } from './support/command';
import { grpcClient } from './support/grpc';

const run = promisify(execFile);
const GRPCURL = `${process.env.FEEDFLOW_TOOLS_DIR ?? `${__dirname}/../.tools`}/bin/grpcurl`;

interface GrpcJsStatus {
  code: number;
  details: string;
}

/** One unary call through @grpc/grpc-js, the most common Node client, with protobuf-es doing the encoding. */
function grpcJsCall<I, O>(
  port: number,
  path: string,
  encode: (req: I) => Uint8Array,
  decode: (bytes: Uint8Array) => O,
  req: I,
  token: string,
): Promise<O> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return new Promise<O>((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      (m: I) => Buffer.from(encode(m)),
      (b: Buffer) => decode(b),
      req,
      metadata,
      (err, res) => {
        client.close();
        if (err) reject(err);
        else resolve(res!);
      },
    );
  });
}

async function grpcJsStatus(call: Promise<unknown>): Promise<GrpcJsStatus> {
  try {
    await call;
  } catch (err) {
    const { code, details } = err as GrpcJsStatus;
    return { code, details };
  }
  throw new Error('expected the call to fail');
}

/** The grpc-message trailer exactly as it crosses the wire. */
async function rawGrpcMessage(port: number, message: string): Promise<string | undefined> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    const body = toBinary(EchoRequestSchema, create(EchoRequestSchema, { message }));
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    frame.set(body, 5);
    const stream = session.request({
      ':method': 'POST',
      ':path': '/feedflow.v1.DiagnosticsService/Echo',
      'content-type': 'application/grpc',
      te: 'trailers',
      authorization: 'Bearer dev-queries',
    });
    stream.end(frame);
    const trailers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
      stream.on('trailers', resolve);
      stream.on('error', reject);
      stream.resume();
    });
    return trailers['grpc-message'] as string | undefined;
  } finally {
    session.close();
  }
}

const MESSAGES = [
  'post is at version 2, not the expected 1; re-read and retry',
  'reserved characters stay plain: / ? # [ ] @ ! $ & \' ( ) * + , ; = : " < > { } | \\ ^ ` ~',
  'percent signs survive: 100% and a literal %41 and %zz',
  'non-ASCII survives: Grüße, naïve café — 世界 ✓ 🚀',
  'control characters survive:\ttab and\nnewline',
];

describe('error messages reach every gRPC client exactly', function () {
  this.timeout(60_000);
  let server: GrpcServer;
  before(async () => {
    const config = loadConfig({});
    server = await startGrpcServer({
      name: 'errors-test',
      port: 0,
      // Echo fails with the message it was given; a `details:` message also carries google.rpc.ErrorInfo.
      services: [
        serve(DiagnosticsService, {
          echo(req) {
            const withDetails = req.message.startsWith('details: ');
            throw new DomainError('conflict', req.message, withDetails ? 'VERSION_CONFLICT' : undefined);
          },
        }),
      ],
      maxMessageBytes: config.GRPC_MAX_MESSAGE_BYTES,
      drainTimeoutMs: 1000,
      interceptors: [errorInterceptor(() => undefined), authInterceptor(config.FEEDFLOW_TOKENS)],
      logger: createLogger('errors-test', 'silent'),
    });
  });
  after(async () => server?.close());

  const echoThroughGrpcJs = (message: string) =>
    grpcJsStatus(
      grpcJsCall(
        server.port,
        '/feedflow.v1.DiagnosticsService/Echo',
        (m: { message: string }) => toBinary(EchoRequestSchema, create(EchoRequestSchema, m)),
        (b) => fromBinary(EchoResponseSchema, b),
        { message },
        'dev-queries',
      ),
    );

  it('percent-encodes grpc-message the way the gRPC spec says: only non-printable bytes and %', async () => {
    assert.equal(
      await rawGrpcMessage(server.port, 'post is at version 2, not the expected 1; re-read and retry'),
      'post is at version 2, not the expected 1; re-read and retry',
    );
    assert.equal(await rawGrpcMessage(server.port, '100% über\n'), '100%25 %C3%BCber%0A');
  });

  for (const message of MESSAGES) {
    it(`@grpc/grpc-js reads "${message.split(':')[0]}" exactly`, async () => {
      assert.deepEqual(await echoThroughGrpcJs(message), { code: grpc.status.ABORTED, details: message });
      // With google.rpc.Status details beside it, grpc-js still reads only grpc-message.
      const detailed = `details: ${message}`;
      assert.deepEqual(await echoThroughGrpcJs(detailed), { code: grpc.status.ABORTED, details: detailed });
    });
  }

  it('a Connect gRPC client reads every message exactly', async () => {
    const client = grpcClient(DiagnosticsService, server.port, 'dev-queries');
    for (const message of [...MESSAGES, ...MESSAGES.map((m) => `details: ${m}`)]) {
      const err = await client.echo({ message }).then(
        () => assert.fail('expected the call to fail'),
        (e: unknown) => ConnectError.from(e),
      );
      assert.equal(err.code, Code.Aborted);
      assert.equal(err.rawMessage, message);
    }
  });

  it('grpcurl prints every single-line message exactly', async function () {
    if (!existsSync(GRPCURL)) this.skip();
    for (const message of MESSAGES.filter((m) => !/[\t\n]/.test(m))) {
      const res = await run(GRPCURL, [
        '-plaintext',
        '-H',
        'authorization: Bearer dev-queries',
        '-d',
        JSON.stringify({ message }),
        `127.0.0.1:${server.port}`,
        'feedflow.v1.DiagnosticsService/Echo',
      ]).then(
        () => assert.fail('expected grpcurl to fail'),
        (e: { stdout: string; stderr: string }) => e.stdout + e.stderr,
      );
      assert.match(res, /Code: Aborted/);
      const printed = /Message: (.*)/.exec(res)?.[1];
      assert.equal(printed, message);
    }
  });

  it('keeps an undecodable request INVALID_ARGUMENT with a readable message', async () => {
    const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    const status = await grpcJsStatus(
      new Promise((resolve, reject) =>
        client.makeUnaryRequest(
          '/feedflow.v1.DiagnosticsService/Echo',
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from([0x0a, 0xff]),
          new grpc.Metadata({}),
          (err, res) => {
            client.close();
            if (err) reject(err);
            else resolve(res);
          },
        ),
      ),
    );
    assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
    assert.match(status.details, /^malformed request message: parse binary: /);
    assert.doesNotMatch(status.details, /%[0-9A-F]{2}/);
  });
});

describe('a version conflict from the command server, read by @grpc/grpc-js', function () {
  this.timeout(60_000);
  let h: CommandHarness;
  before(async () => (h = await startCommandHarness()));
  after(async () => h?.close());

  it('arrives as ABORTED with the exact text', async () => {
    const author = await h.register('Ada');
    const postId = await h.post(author);
    const status = await grpcJsStatus(
      grpcJsCall(
        h.server.port,
        `/${CommandService.typeName}/UpdatePost`,
        (m: { authorId: string; postId: string; content: string; expectedVersion: number }) =>
          toBinary(UpdatePostRequestSchema, create(UpdatePostRequestSchema, m)),
        (b) => fromBinary(UpdatePostResponseSchema, b),
        { authorId: author, postId, content: 'edited', expectedVersion: 5 },
        'dev-commands',
      ),
    );
    assert.deepEqual(status, {
      code: grpc.status.ABORTED,
      details: 'post is at version 1, not the expected 5; re-read and retry',
    });
  });
});
