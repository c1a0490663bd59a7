import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { DomainError, type DomainErrorKind } from '../../domain/errors';
import { ErrorInfoSchema, RetryInfoSchema } from '../../gen/google/rpc/error_details_pb';

/** Maps domain errors to gRPC status codes, in one place. Services never throw ConnectError themselves. */

const codes: Record<DomainErrorKind, Code> = {
  invalid: Code.InvalidArgument,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  precondition: Code.FailedPrecondition,
  conflict: Code.Aborted,
  permission: Code.PermissionDenied,
  unauthenticated: Code.Unauthenticated,
  rate_limited: Code.ResourceExhausted,
  unavailable: Code.Unavailable,
};

export const ERROR_DOMAIN = 'feedflow.dev';

export function toConnectError(err: DomainError): ConnectError {
  const details = [];
  if (err.reason) {
    details.push({
      desc: ErrorInfoSchema,
      value: create(ErrorInfoSchema, { reason: err.reason, domain: ERROR_DOMAIN }),
    });
  }
  if (err.retryAfterMs !== undefined) {
    const ms = Math.max(0, Math.ceil(err.retryAfterMs));
    details.push({
      desc: RetryInfoSchema,
      value: create(RetryInfoSchema, {
        retryDelay: { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 },
      }),
    });
  }
  return new ConnectError(err.message, codes[err.kind], undefined, details);
}

/**
 * Maps domain errors to gRPC statuses in one place. Anything unexpected becomes INTERNAL with a generic message,
 * logged with its stack, so internals never leak to callers.
 */
export function errorInterceptor(onUnexpected: (err: unknown, method: string) => void): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      if (err instanceof DomainError) throw toConnectError(err);
      if (err instanceof ConnectError) {
        // The framework reports an undecodable request as INTERNAL; to the caller it is bad input.
        if (err.code === Code.Internal && /^parse (binary|json)/.test(err.rawMessage)) {
          throw new ConnectError(`malformed request message: ${err.rawMessage}`, Code.InvalidArgument);
        }
        throw err;
      }
      onUnexpected(err, `${req.service.typeName}/${req.method.name}`);
      // A store that cannot be reached is a passing condition the caller may retry; anything else is a bug.
      if (isUnavailable(err)) throw new ConnectError('a backing store is unavailable; retry', Code.Unavailable);
      throw new ConnectError('internal error', Code.Internal);
    }
  };
}

const UNAVAILABLE_ERRORS = new Set([
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoNotConnectedError',
]);

function isUnavailable(err: unknown): boolean {
  const e = err as { name?: string; code?: string; message?: string };
  return UNAVAILABLE_ERRORS.has(e?.name ?? '') || e?.code === 'ServiceUnavailable' || e?.code === 'SessionExpired';
}
