/**
 * Bundles workflows/ into .build/workflow-bundle.js, which every worker loads (workers/bundle.ts). Skips the
 * build when the bundle's manifest still matches the sources. Run by bootstrap (so `npm test`, the demo and CI)
 * and by the Dockerfile.
 *
 *   npm run build:workflows
 */
import { exitOnFailure } from '../lib/main';
import { BUNDLE_FILE, buildWorkflowBundle } from '../workers/bundle';

async function main(): Promise<void> {
  const t0 = performance.now();
  const rebuilt = await buildWorkflowBundle();
  const ms = Math.round(performance.now() - t0);
  console.log(
    rebuilt
      ? `[build:workflows] ${BUNDLE_FILE} built in ${ms} ms (${rebuilt})`
      : `[build:workflows] ${BUNDLE_FILE}: up to date (checked in ${ms} ms)`,
  );
}

exitOnFailure(main());
