/** The p-th percentile of some measurements (ms), nearest rank. */
export const percentileOf = (xs: number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

/**
 * Makes `total` calls from `concurrency` loops, each waiting for its call before the next (a closed loop), and
 * times each call alone. Returns the calls' p50 and p99 in ms and the calls per second.
 */
export async function closedLoop(
  concurrency: number,
  total: number,
  call: (i: number) => Promise<unknown>,
): Promise<{ p50: number; p99: number; rps: number }> {
  const times: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const s = performance.now();
        await call(i);
        times.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  return { p50: percentileOf(times, 50), p99: percentileOf(times, 99), rps: times.length / secs };
}
