import { strict as assert } from 'node:assert';
import type { PullTransitionWorkflow } from '../../pipeline/contracts/projection';
import { isWorkflowType, WORKFLOW_TYPES } from '../../pipeline/registry';
import * as workflows from '../../workflows';

/** Every function the workflow bundle exports as a workflow (the workers register exactly these). */
const exported = Object.entries(workflows)
  .filter(([name, value]) => typeof value === 'function' && name.endsWith('Workflow'))
  .map(([name]) => name)
  .sort();

describe('the workflow registry', () => {
  it('names only workflows the bundle exports', () => {
    for (const name of Object.values(WORKFLOW_TYPES)) {
      assert.equal(typeof (workflows as Record<string, unknown>)[name], 'function', `${name} is not exported`);
    }
  });

  it('names every workflow the bundle exports', () => {
    const named = new Set<string>(Object.values(WORKFLOW_TYPES));
    assert.deepEqual(
      exported.filter((name) => !named.has(name)),
      [],
    );
    for (const name of exported) assert.ok(isWorkflowType(name), name);
  });

  it('holds the pull transition to the signature its starters check their arguments against', () => {
    const workflow: PullTransitionWorkflow = workflows.pullTransitionWorkflow;
    assert.equal(workflow, workflows.pullTransitionWorkflow);
  });
});
