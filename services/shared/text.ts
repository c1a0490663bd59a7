import type { Interceptor } from '@connectrpc/connect';
import { invalid } from '../../domain/errors';

/**
 * Refuses a NUL character in any string of a request, on every feedflow service, before a handler runs: the
 * write model's PostgreSQL backend cannot store one, Temporal notes and search texts have no use for one, and a
 * caller deserves INVALID_ARGUMENT naming the field rather than a store failure reported as INTERNAL.
 */
export function textInterceptor(): Interceptor {
  return (next) => async (req) => {
    if (!req.stream) {
      const field = nulField(req.message, '');
      if (field !== undefined) throw invalid(`${field} must not contain a NUL character (\\u0000)`, 'NUL_CHARACTER');
    }
    return next(req);
  };
}

const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The proto path of the first string holding a NUL, walking nested messages, lists, maps and oneofs. */
export function nulField(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes('\0') ? path || 'request' : undefined;
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return undefined;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = nulField(item, `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  const isOneof = 'case' in value && 'value' in value && Object.keys(value).length === 2;
  for (const [key, item] of Object.entries(value)) {
    if (key === '$typeName' || key === '$unknown' || (isOneof && key === 'case')) continue;
    // A map's keys are strings too.
    if (!('$typeName' in value) && !isOneof && key.includes('\0')) return `${path}[key]`;
    const name = isOneof ? snake(String((value as { case: unknown }).case)) : snake(key);
    const found = nulField(item, isOneof ? path.replace(/[^.]*$/, name) : path ? `${path}.${name}` : name);
    if (found !== undefined) return found;
  }
  return undefined;
}
