import { create, toBinary } from '@bufbuild/protobuf';
import type { DescFile, DescService } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import type { ServiceImpl } from '@connectrpc/connect';
import {
  type ServerReflection,
  ServerReflectionResponseSchema,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
} from '../../gen/grpc/reflection/v1/reflection_pb';

// gRPC status codes carried inside ErrorResponse, as the reflection protocol asks.
const NOT_FOUND = 5;
const UNIMPLEMENTED = 12;

/** Every service, method, message and enum of these files by its full name, and the file declaring it. */
function symbolIndex(files: Map<string, DescFile>): Map<string, DescFile> {
  const symbols = new Map<string, DescFile>();
  for (const file of files.values()) {
    const pkg = file.proto.package;
    const visit = (name: string): void => void symbols.set(pkg ? `${pkg}.${name}` : name, file);
    for (const s of file.services) {
      visit(s.name);
      s.methods.forEach((m) => visit(`${s.name}.${m.name}`));
    }
    for (const m of file.messages) symbols.set(m.typeName, file);
    for (const e of file.enums) symbols.set(e.typeName, file);
    // Nested types are reachable by their full names too.
    const nested = (msgs: typeof file.messages): void => {
      for (const m of msgs) {
        symbols.set(m.typeName, file);
        m.nestedEnums.forEach((e) => symbols.set(e.typeName, file));
        nested(m.nestedMessages);
      }
    };
    nested(file.messages);
  }
  return symbols;
}

/** The file and everything it imports, transitively, each once. */
function withDependencies(file: DescFile): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  const walk = (f: DescFile): void => {
    if (seen.has(f.proto.name)) return;
    seen.add(f.proto.name);
    out.push(toBinary(FileDescriptorProtoSchema, f.proto));
    f.dependencies.forEach(walk);
  };
  walk(file);
  return out;
}

/**
 * grpc.reflection.v1.ServerReflection over the descriptors protobuf-es already embeds in generated code, so
 * grpcurl can list and call every service without .proto files.
 */
export function createReflectionService(services: DescService[]): ServiceImpl<typeof ServerReflection> {
  const files = new Map<string, DescFile>();
  const addFile = (file: DescFile): void => {
    if (files.has(file.proto.name)) return;
    files.set(file.proto.name, file);
    file.dependencies.forEach(addFile);
  };
  services.forEach((s) => addFile(s.file));

  const symbols = symbolIndex(files);

  const answer = (req: ServerReflectionRequest): ServerReflectionResponse => {
    const base = { validHost: req.host, originalRequest: req };
    const error = (errorCode: number, errorMessage: string): ServerReflectionResponse =>
      create(ServerReflectionResponseSchema, {
        ...base,
        messageResponse: { case: 'errorResponse', value: { errorCode, errorMessage } },
      });
    const filesOf = (file: DescFile | undefined, what: string): ServerReflectionResponse =>
      file
        ? create(ServerReflectionResponseSchema, {
            ...base,
            messageResponse: {
              case: 'fileDescriptorResponse',
              value: { fileDescriptorProto: withDependencies(file) },
            },
          })
        : error(NOT_FOUND, `${what} not found`);

    const r = req.messageRequest;
    switch (r.case) {
      case 'listServices':
        return create(ServerReflectionResponseSchema, {
          ...base,
          messageResponse: {
            case: 'listServicesResponse',
            value: { service: services.map((s) => ({ name: s.typeName })) },
          },
        });
      case 'fileByFilename':
        return filesOf(files.get(r.value), `file "${r.value}"`);
      case 'fileContainingSymbol':
        return filesOf(symbols.get(r.value), `symbol "${r.value}"`);
      case 'fileContainingExtension':
        return error(NOT_FOUND, `extension ${r.value.containingType}#${r.value.extensionNumber} not found`);
      case 'allExtensionNumbersOfType':
        return create(ServerReflectionResponseSchema, {
          ...base,
          messageResponse: { case: 'allExtensionNumbersResponse', value: { baseTypeName: r.value } },
        });
      default:
        return error(UNIMPLEMENTED, 'empty reflection request');
    }
  };

  return {
    /** Answers each reflection request on the stream in order. */
    async *serverReflectionInfo(requests) {
      for await (const req of requests) yield answer(req);
    },
  };
}
