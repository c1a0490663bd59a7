import { strict as assert } from 'node:assert';
import { readdir, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Worker } from '@temporalio/worker';
import { RANKING_WORKFLOW_TYPES } from '../../workflows/registry';
import { PROJECTIONS } from '../../workflows/shared';
import { historyFromFixture, workflowBundle } from './support';

const FIXTURES = resolve(__dirname, '../fixtures/histories');

/**
 * Determinism: today's workflow code must replay the recorded histories (test/projection/record-histories.ts)
 * command for command. A failure here means a change would break running workflows; version it with patched().
 */
describe('Projection workflow histories replay deterministically', function () {
  this.timeout(120_000);

  it('has one recorded history per projection workflow kind', async () => {
    const recorded = (await readdir(FIXTURES)).map((f) => f.replace(/\.json$/, '')).sort();
    const kinds = [
      ...new Set([
        ...Object.values(PROJECTIONS).map((r) => r!.workflowType),
        'trimFeedsWorkflow',
        // Recorded by test/query/pull-transition.test.ts (RECORD_HISTORIES=1).
        'pullTransitionWorkflow',
        // Recorded by test/ranking/pipeline.test.ts (RECORD_HISTORIES=1).
        ...RANKING_WORKFLOW_TYPES,
      ]),
    ].sort();
    assert.deepEqual(recorded, kinds);
  });

  it('replays every recorded history with the current workflow code', async () => {
    const files = (await readdir(FIXTURES)).filter((f) => f.endsWith('.json'));
    const histories = await Promise.all(
      files.map(async (f) => ({
        workflowId: f,
        history: historyFromFixture(await readFile(resolve(FIXTURES, f), 'utf8')),
      })),
    );
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${String(result.error)}`);
    }
    assert.deepEqual(failures, []);
  });
});
