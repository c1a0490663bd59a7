import { buildWorkflowBundle } from '../../workers/bundle';

/**
 * Mocha's global setup (required by .mocharc.json): every run, `npx mocha one.test.ts` included, tests the
 * workflow code in the tree. The workers the tests start, in this process or as child processes, load the
 * prebuilt bundle and refuse a stale one, so a bundle older than the sources is rebuilt here, once, first.
 */
export async function mochaGlobalSetup(): Promise<void> {
  const rebuilt = await buildWorkflowBundle();
  if (rebuilt) console.log(`[mocha] workflow bundle rebuilt: ${rebuilt}`);
}
