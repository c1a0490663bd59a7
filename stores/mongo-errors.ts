/**
 * An insert-first write reads a duplicate key as "already there" and moves on to its guarded update. Matched by
 * code, so errors re-thrown across the driver's error classes still count.
 */
export function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: number }).code === 11000;
}
