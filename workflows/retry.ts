/**
 * The retry policy of a short step (a projection's reads and writes, a scoring call): the first retries come
 * quickly, and a store that stays down is retried every 10 s until it is back.
 */
export const STEP_RETRY = { initialInterval: '200 milliseconds', maximumInterval: '10 seconds' };
