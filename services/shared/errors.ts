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
/** The retry delay an UNAVAILABLE answer carries (google.rpc.RetryInfo) when the failure names none. */
export const STORE_RETRY_AFTER_MS = 1000;

export function toConnectError(err: DomainError): ConnectError {
  const details = [];
  if (err.reason) {
    details.push({
      desc: ErrorInfoSchema,
      value: create(ErrorInfoSchema, { reason: err.reason, domain: ERROR_DOMAIN }),
    });
  }
  // An unavailable store always says when to come back, so clients that honour RetryInfo back off alike.
  const retryAfterMs = err.retryAfterMs ?? (err.kind === 'unavailable' ? STORE_RETRY_AFTER_MS : undefined);
  if (retryAfterMs !== undefined) {
    const ms = Math.max(0, Math.ceil(retryAfterMs));
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
      if (isUnavailable(err)) {
        throw toConnectError(
          new DomainError('unavailable', 'a backing store is unavailable; retry', 'STORE_UNAVAILABLE'),
        );
      }
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

/**
 * FerretDB answers with code 1 (InternalError) for any failure of its own, and for a PostgreSQL it cannot reach:
 * only the latter is a passing condition, recognised by the backend connection failure its message names.
 */
const LOST_BACKEND =
  /failed to connect to|connection refused|connection reset|broken pipe|unexpected EOF|conn closed|terminating connection|the database system is (starting up|shutting down|in recovery)/i;

export function isUnavailable(err: unknown): boolean {
  const e = err as { name?: string; code?: string | number; message?: string };
  if (UNAVAILABLE_ERRORS.has(e?.name ?? '') || e?.code === 'ServiceUnavailable' || e?.code === 'SessionExpired') {
    return true;
  }
  return e?.name === 'MongoServerError' && e.code === 1 && LOST_BACKEND.test(e.message ?? '');
}
