import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { DomainError } from '../../domain/errors';
import type { Config, RateLimit } from '../../lib/config';

export type RateLimitedAction = 'create_post' | 'default';

/**
 * Per-member, per-action limits. A limit `points/seconds:burst` admits at most `burst` commands per window of
 * burst × seconds / points, which holds the sustained rate while bounding bursts. In-process; a multi-replica
 * deployment swaps in a shared store behind the same interface.
 */
export interface RateLimiter {
  consume(memberId: string, action: RateLimitedAction): Promise<void>;
}

export function createRateLimiter(
  config: Pick<Config, 'RATE_LIMIT_CREATE_POST' | 'RATE_LIMIT_DEFAULT' | 'RATE_LIMITS_ENABLED'>,
): RateLimiter {
  const make = (limit: RateLimit): RateLimiterMemory =>
    new RateLimiterMemory({
      points: limit.burst,
      duration: Math.max(1, Math.round((limit.burst * limit.seconds) / limit.points)),
    });
  const limiters: Record<RateLimitedAction, RateLimiterMemory> = {
    create_post: make(config.RATE_LIMIT_CREATE_POST),
    default: make(config.RATE_LIMIT_DEFAULT),
  };
  return {
    async consume(memberId, action) {
      if (!config.RATE_LIMITS_ENABLED) return;
      try {
        await limiters[action].consume(`${action}:${memberId}`);
      } catch (res) {
        if (!(res instanceof RateLimiterRes)) throw res;
        throw new DomainError(
          'rate_limited',
          `rate limit for ${action} exceeded; retry in ${Math.ceil(res.msBeforeNext / 1000)}s`,
          'RATE_LIMITED',
          res.msBeforeNext,
        );
      }
    },
  };
}
