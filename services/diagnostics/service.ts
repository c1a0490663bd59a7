import type { ServiceImpl } from '@connectrpc/connect';
import { type DiagnosticsService } from '../../gen/feedflow/v1/diagnostics_pb';

/** feedflow.v1.DiagnosticsService: a no-op RPC that measures the framework's own ceiling. */
export function createDiagnosticsService(server: string): ServiceImpl<typeof DiagnosticsService> {
  return {
    /** Returns the message unchanged, with the answering server's name. */
    echo(req) {
      return { message: req.message, server };
    },
  };
}
