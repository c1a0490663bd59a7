// Calls feedflow from @grpc/grpc-js with only its .proto files, read by protobufjs: no generated code.
// node client/grpc-js-example.mjs <address> <token> <package.Service> <Method> '<request JSON, proto field names>'
import { Buffer } from 'node:buffer';
import path from 'node:path';
import grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

const PROTO_DIR = process.env.FEEDFLOW_PROTO_DIR ?? path.join(import.meta.dirname, '..', 'proto');

/** A grpc-js client class for one service, its messages encoded and decoded by protobufjs. */
function serviceClient(serviceName) {
  const root = new protobuf.Root();
  // google/protobuf/* ship with protobufjs; feedflow's own files come from PROTO_DIR.
  root.resolvePath = (_origin, target) =>
    target.startsWith('google/protobuf/') ? target : path.join(PROTO_DIR, target);
  root.loadSync(['feedflow/v1/command.proto', 'feedflow/v1/feed.proto', 'feedflow/v1/operations.proto'], {
    keepCase: true,
  });
  const service = root.lookupService(serviceName).resolveAll();
  const methods = {};
  for (const m of service.methodsArray) {
    const [req, res] = [m.resolvedRequestType, m.resolvedResponseType];
    methods[m.name] = {
      path: `/${serviceName}/${m.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (obj) => Buffer.from(req.encode(req.fromObject(obj)).finish()),
      requestDeserialize: (buf) => req.decode(buf),
      responseSerialize: (msg) => Buffer.from(res.encode(msg).finish()),
      responseDeserialize: (buf) => res.toObject(res.decode(buf), { enums: String, longs: String, defaults: true }),
    };
  }
  return grpc.makeGenericClientConstructor(methods, serviceName);
}

function main([address, token, serviceName, method, json = '{}']) {
  const Client = serviceClient(serviceName);
  const client = new Client(address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  const deadline = new Date(Date.now() + 10_000);
  client[method](JSON.parse(json), metadata, { deadline }, (err, response) => {
    client.close();
    if (err) {
      console.error(`${grpc.status[err.code]}: ${err.details}`);
      process.exitCode = 1;
      return;
    }
    console.log(JSON.stringify(response));
  });
}

main(process.argv.slice(2));
