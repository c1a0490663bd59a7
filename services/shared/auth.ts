import type { Interceptor } from '@connectrpc/connect';
import { createContextKey } from '@connectrpc/connect';
import { DomainError } from '../../domain/errors';
import type { Caller, Scope } from '../../lib/config';

/** The scope each feedflow service demands. Infrastructure services (health, reflection) need no token. */
const REQUIRED_SCOPE: Record<string, Scope | 'any' | 'none'> = {
  'feedflow.v1.CommandService': 'commands',
  'feedflow.v1.FeedService': 'queries',
  'feedflow.v1.OperationsService': 'operations',
  'feedflow.v1.DiagnosticsService': 'any',
  'grpc.health.v1.Health': 'none',
  'grpc.reflection.v1.ServerReflection': 'none',
};

export const callerKey = createContextKey<Caller>({ service: 'anonymous', scopes: [] });

/** Checks `authorization: Bearer <token>` against the configured tokens and the service's scope. */
export function authInterceptor(tokens: Map<string, Caller>): Interceptor {
  return (next) => async (req) => {
    const required = REQUIRED_SCOPE[req.service.typeName] ?? 'any';
    if (required === 'none') return next(req);
    const header = req.header.get('authorization') ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new DomainError('unauthenticated', 'missing bearer token in the authorization header');
    const caller = tokens.get(m[1]);
    if (!caller) throw new DomainError('unauthenticated', 'unknown bearer token');
    if (required !== 'any' && !caller.scopes.includes(required)) {
      throw new DomainError(
        'permission',
        `caller "${caller.service}" lacks the "${required}" scope for ${req.service.typeName}`,
      );
    }
    req.contextValues.set(callerKey, caller);
    return next(req);
  };
}
