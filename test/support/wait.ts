/**
 * Waiting in tests: on a condition, never on the clock. A wait polls its condition until it holds and fails loudly,
 * naming what it waited for and the probe's last error, once its time is up. The only fixed pause is an observation
 * window, where the time itself is under test.
 */

export interface WaitOptions {
  /** What the wait is for, as it reads in the failure: `timed out after 30000 ms waiting for ${message}`. */
  message: string;
  /** Default 30 s. */
  timeoutMs?: number;
  /** Between probes; default 50 ms. */
  intervalMs?: number;
}

/** What a probe answers while its condition does not hold yet. */
type NotYet = undefined | null | false;

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `condition` until it answers something other than `undefined`, `null` or `false`, and returns that. A probe that
 * throws or rejects has not held yet (the thing it reads may not be up).
 */
export async function waitFor<T>(condition: () => T | NotYet | Promise<T | NotYet>, opts: WaitOptions): Promise<T> {
  const { message, timeoutMs = 30_000, intervalMs = 50 } = opts;
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > until) {
      const cause = lastError === undefined ? '' : `; the last probe failed: ${String(lastError)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}${cause}`);
    }
    await pause(intervalMs);
  }
}

/**
 * A fixed window in which a test watches for something that must NOT happen (or must keep going). Not a wait: use
 * it only where the interval itself is what the test is about, and say what is being watched.
 */
export function observationWindow(ms: number, _watching: string): Promise<void> {
  return pause(ms);
}
