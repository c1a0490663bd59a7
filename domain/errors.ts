/** Failures the domain can name. Services map them to gRPC status codes in one place (services/shared/errors.ts). */
export type DomainErrorKind =
  | 'invalid'
  | 'not_found'
  | 'already_exists'
  | 'precondition'
  | 'conflict'
  | 'permission'
  | 'unauthenticated'
  | 'rate_limited'
  | 'unavailable';

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    /** A machine-readable reason, e.g. `BANNED_TERM`, sent as google.rpc.ErrorInfo. */
    readonly reason?: string,
    /** For rate limits: how long to wait, sent as google.rpc.RetryInfo. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export const invalid = (message: string, reason = 'INVALID_ARGUMENT'): DomainError =>
  new DomainError('invalid', message, reason);
export const notFound = (message: string): DomainError => new DomainError('not_found', message, 'NOT_FOUND');
