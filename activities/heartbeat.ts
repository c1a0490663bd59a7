import { asyncLocalStorage } from '@temporalio/activity';

/**
 * The one way activities heartbeat. Outside an activity (a bench, a test calling the factory's functions directly)
 * every helper here is a no-op, so the same code runs in both.
 */

/** Beats once with these details: a checkpoint a retry resumes from, or progress for the UI. */
export function heartbeat(details?: unknown): void {
  asyncLocalStorage.getStore()?.heartbeat(details);
}

/** What the previous attempt last heartbeated, if this is a retry of an activity that checkpoints. */
export function lastHeartbeat<T>(): T | undefined {
  return asyncLocalStorage.getStore()?.info.heartbeatDetails as T | undefined;
}

/**
 * Beats every `everyMs` while `work` runs, so a long single statement on a slow store is not mistaken for a dead
 * worker. `details` is read at each beat, so a checkpoint that moves while the work runs is beaten as it stands.
 */
export async function whileHeartbeating<T>(
  work: Promise<T> | (() => Promise<T>),
  details?: () => unknown,
  everyMs = 1_000,
): Promise<T> {
  const ctx = asyncLocalStorage.getStore();
  const timer = ctx ? setInterval(() => ctx.heartbeat(details?.()), everyMs) : undefined;
  try {
    return await (typeof work === 'function' ? work() : work);
  } finally {
    clearInterval(timer);
  }
}
