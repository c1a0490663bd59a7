import { createHash } from 'node:crypto';
import { toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import { invalid } from '../../domain/errors';
import { CommandService } from '../../gen/feedflow/v1/command_pb';
import { callerKey } from '../shared/auth';
import type { CommandMeta, CommandResult } from './commit';
import type { CommandHandlers } from './handlers/index';
import { commandRoutes, type Rpc, type RpcRequest, type RpcResponse } from './mapping';

const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** Builds the command metadata: the caller, and a hash of the payload that ignores the request id. */
function metaOf<D extends DescMessage>(
  schema: D,
  req: MessageShape<D> & { requestId: string },
  ctx: HandlerContext,
  rpc: string,
): CommandMeta {
  if (req.requestId && !REQUEST_ID.test(req.requestId)) {
    throw invalid('request_id must be 1-128 printable ASCII characters', 'MALFORMED_REQUEST_ID');
  }
  const bytes = toBinary(schema, { ...req, requestId: '' } as MessageShape<D>);
  return {
    caller: ctx.values.get(callerKey).service,
    rpc,
    requestId: req.requestId,
    requestHash: createHash('sha256').update(bytes).digest('base64url'),
  };
}

type RpcImpl<P extends Rpc> = (req: RpcRequest<P>, ctx: HandlerContext) => Promise<RpcResponse<P>>;
type Impl = { [P in Rpc]: RpcImpl<P> };

/** feedflow.v1.CommandService: every RPC is one route of ./mapping run the same way. */
export function createCommandService(
  h: CommandHandlers,
  replayIfSeen: (meta: CommandMeta) => Promise<CommandResult | undefined>,
): ServiceImpl<typeof CommandService> {
  const routes = commandRoutes(h);
  const implement =
    <P extends Rpc>(rpc: P): RpcImpl<P> =>
    async (req, ctx) => {
      const method = CommandService.method[rpc];
      const route = routes[rpc];
      // The request key names the proto RPC (RegisterUser), as stored for every request already accepted.
      const meta = metaOf(method.input, req, ctx, method.name);
      // A retry of an accepted request answers as the original did, before any rule can judge it afresh.
      const r = (await replayIfSeen(meta)) ?? (await route.handle(meta, route.command(req)));
      return route.response(r);
    };
  // Object.fromEntries loses the per-key types; each key gets implement() of itself, so the assertion holds, and
  // the return below still checks every RPC against connect's ServiceImpl.
  const impl = Object.fromEntries(Object.keys(routes).map((rpc) => [rpc, implement(rpc as Rpc)])) as Impl;
  return impl;
}
