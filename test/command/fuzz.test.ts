import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as http2 from 'node:http2';
import { create, toBinary } from '@bufbuild/protobuf';
import { CommandService } from '../../gen/feedflow/v1/command_pb';
import { startCommandHarness, type CommandHarness } from '../support/command';

/** One raw gRPC call: frames the bytes and returns the grpc-status the server answered. */
function rawCall(session: http2.ClientHttp2Session, path: string, body: Buffer, compressedFlag = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      authorization: 'Bearer dev-commands',
    });
    let status: string | undefined;
    stream.on('response', (headers) => (status ??= headers['grpc-status'] as string | undefined));
    stream.on('trailers', (trailers) => (status = (trailers['grpc-status'] as string | undefined) ?? status));
    stream.on('data', () => undefined);
    stream.on('end', () =>
      status === undefined ? reject(new Error(`no grpc-status for ${path}`)) : resolve(Number(status)),
    );
    stream.on('error', reject);
    const header = Buffer.alloc(5);
    header.writeUInt8(compressedFlag, 0);
    header.writeUInt32BE(body.length, 1);
    stream.end(Buffer.concat([header, body]));
  });
}

function mutate(valid: Buffer): Buffer {
  const kind = Math.floor(Math.random() * 4);
  if (kind === 0) return randomBytes(Math.floor(Math.random() * 200));
  if (kind === 1) return valid.subarray(0, Math.floor(Math.random() * valid.length));
  const copy = Buffer.from(valid);
  for (let i = 0; i < 1 + Math.floor(Math.random() * 4) && copy.length; i++) {
    copy[Math.floor(Math.random() * copy.length)] = Math.floor(Math.random() * 256);
  }
  return kind === 2 ? copy : Buffer.concat([copy, randomBytes(8)]);
}

describe('CommandService under malformed input', function () {
  this.timeout(180_000);
  let h: CommandHarness;
  before(async () => {
    h = await startCommandHarness();
  });
  after(async () => h?.close());

  it('answers thousands of random and truncated payloads on every RPC with a status and stays up', async () => {
    const session = http2.connect(`http://127.0.0.1:${h.server.port}`);
    const author = await h.register();
    const samples: Record<string, Buffer> = {};
    for (const method of CommandService.methods) {
      const msg = create(method.input, {
        // Plausible field values so mutations land near valid messages.
        ...(Object.fromEntries(
          method.input.fields.map((f) => [
            f.localName,
            f.fieldKind === 'scalar' && f.scalar === 9
              ? f.localName.endsWith('Id')
                ? author
                : 'hello world'
              : undefined,
          ]),
        ) as object),
      } as never);
      samples[method.name] = Buffer.from(toBinary(method.input, msg));
    }
    const statuses = new Map<number, number>();
    let calls = 0;
    let flagged = 0;
    const perMethod = 230;
    for (const method of CommandService.methods) {
      const path = `/${CommandService.typeName}/${method.name}`;
      for (let batch = 0; batch < perMethod; batch += 46) {
        const results = await Promise.all(
          Array.from({ length: 46 }, (_, i) =>
            rawCall(session, path, mutate(samples[method.name]), (batch + i) % 23 === 0 ? 1 : 0),
          ),
        );
        for (const s of results) statuses.set(s, (statuses.get(s) ?? 0) + 1);
        calls += results.length;
        flagged += Array.from({ length: 46 }, (_, i) => (batch + i) % 23 === 0).filter(Boolean).length;
      }
    }
    // An oversized message is refused, not buffered.
    const big = await rawCall(session, `/${CommandService.typeName}/CreatePost`, randomBytes(2 * 1024 * 1024));
    statuses.set(big, (statuses.get(big) ?? 0) + 1);
    session.close();
    assert.ok(calls >= 2900, `${calls} calls`);
    assert.ok(!statuses.has(2), `no UNKNOWN statuses: ${JSON.stringify([...statuses])}`);
    const seen = JSON.stringify([...statuses].sort());
    // gRPC reserves INTERNAL for protocol violations: a compressed flag without a negotiated encoding.
    assert.ok((statuses.get(13) ?? 0) <= flagged, `INTERNAL only for flagged frames: ${seen}`);
    const allowed = new Set([0, 3, 5, 6, 7, 8, 9, 10, 13]);
    assert.ok(
      [...statuses.keys()].every((s) => allowed.has(s)),
      `only meaningful statuses: ${seen}`,
    );
    assert.ok((statuses.get(3) ?? 0) > calls / 2, `most garbage is INVALID_ARGUMENT: ${seen}`);
    assert.ok([3, 8].includes(big), `oversized message answered ${big}`);
    // Still serving.
    const res = await h.client.registerUser({ email: 'after-fuzz@example.com', displayName: 'Still here' });
    assert.ok(res.userId);
  });
});
