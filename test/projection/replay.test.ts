import { strict as assert } from 'node:assert';
import { readdir, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Worker } from '@temporalio/worker';
import { RANKING_WORKFLOW_TYPES } from '../../pipeline/registry';
import { PROJECTIONS, SEARCH_PROJECTIONS } from '../../pipeline/routing';
import { historyFromFixture, workflowBundle } from '../support/bundle';

const FIXTURES = resolve(__dirname, '../fixtures/histories');
/** Histories of the shapes before patch `cheap-shapes`: runs started then must still replay and finish. */
const LEGACY = resolve(FIXTURES, 'pre-cheap-shapes');

async function histories(
  dir: string,
): Promise<Array<{ workflowId: string; history: ReturnType<typeof historyFromFixture> }>> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json'));
  return Promise.all(
    files.map(async (f) => ({
      workflowId: `${dir === LEGACY ? 'pre-cheap-shapes/' : ''}${f}`,
      history: historyFromFixture(await readFile(resolve(dir, f), 'utf8')),
    })),
  );
}

/**
 * Determinism: today's workflow code must replay the recorded histories (test/projection/record-histories.ts)
 * command for command. A failure here means a change would break running workflows; version it with patched().
 */
describe('Projection workflow histories replay deterministically', function () {
  this.timeout(120_000);

  it('has one recorded history per projection workflow kind', async () => {
    const recorded = (await readdir(FIXTURES))
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.replace(/\.json$/, ''))
      .sort();
    const kinds = [
      ...new Set([
        ...Object.values(PROJECTIONS).map((r) => r!.workflowType),
        'trimFeedsWorkflow',
        ...new Set(Object.values(SEARCH_PROJECTIONS)),
        // Recorded by test/query/pull-transition.test.ts (RECORD_HISTORIES=1).
        'pullTransitionWorkflow',
        // Recorded by test/ranking/pipeline.test.ts (RECORD_HISTORIES=1).
        ...RANKING_WORKFLOW_TYPES,
      ]),
    ].sort();
    assert.deepEqual(recorded, kinds);
  });

  it('replays every recorded history, current and pre-cheap-shapes, with the current workflow code', async () => {
    const legacy = await histories(LEGACY);
    assert.equal(legacy.length, 9, 'the nine pre-cheap-shapes histories are all there');
    const all = [...(await histories(FIXTURES)), ...legacy];
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, all)) {
      if (result.error) failures.push(`${result.workflowId}: ${String(result.error)}`);
    }
    assert.deepEqual(failures, []);
  });
});
