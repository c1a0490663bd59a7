import { strict as assert } from 'node:assert';
import { EVENT_TYPES } from '../../domain/events';
import { siblingQueue, TASK_QUEUES } from '../../pipeline/queues';
import { itemsWrittenOf, WORKFLOW_TYPES } from '../../pipeline/registry';
import { PROJECTIONS } from '../../pipeline/routing';

describe('workflow routing and results', () => {
  describe('itemsWrittenOf', () => {
    it("reads each writing workflow's own result field", () => {
      const cases: Array<[string, unknown, number]> = [
        [WORKFLOW_TYPES.fanoutPost, { itemsWritten: 5 }, 5],
        [WORKFLOW_TYPES.replayFanout, { itemsWritten: 6 }, 6],
        [WORKFLOW_TYPES.replayFailedProjections, { itemsWritten: 7 }, 7],
        [WORKFLOW_TYPES.updatePost, { itemsUpdated: 3, itemsWritten: 99 }, 3],
        [WORKFLOW_TYPES.profile, { itemsRefreshed: 4 }, 4],
        [WORKFLOW_TYPES.rebuildFeed, { written: 8 }, 8],
        [WORKFLOW_TYPES.consistencyCheck, { repaired: 2 }, 2],
      ];
      for (const [type, result, want] of cases) assert.equal(itemsWrittenOf(type, result), want, type);
    });

    it('sums a backfill over its viewers', () => {
      assert.equal(itemsWrittenOf(WORKFLOW_TYPES.backfill, { backfilled: { u1: 3, u2: 4 } }), 7);
      assert.equal(itemsWrittenOf(WORKFLOW_TYPES.backfill, { backfilled: { u1: 3, u2: 'x', u3: NaN } }), 3);
      assert.equal(itemsWrittenOf(WORKFLOW_TYPES.backfill, {}), 0);
    });

    it('counts 0 for workflows that write no feed items, and for unknown types', () => {
      for (const type of [WORKFLOW_TYPES.deletePost, WORKFLOW_TYPES.purge, WORKFLOW_TYPES.ping, 'someWorkflow']) {
        assert.equal(itemsWrittenOf(type, { itemsWritten: 9, written: 9, repaired: 9 }), 0, type);
      }
    });

    it('counts 0 for missing or malformed results instead of failing', () => {
      for (const result of [undefined, null, 'done', 42, { itemsWritten: '5' }, { itemsWritten: Infinity }]) {
        assert.equal(itemsWrittenOf(WORKFLOW_TYPES.fanoutPost, result), 0, JSON.stringify(result));
      }
    });
  });

  describe('siblingQueue', () => {
    it("keeps the deployment's prefix when moving to another queue", () => {
      assert.equal(siblingQueue('db1-projection', 'ranking'), 'db1-ranking');
      assert.equal(siblingQueue('db1-projection-priority', 'projection'), 'db1-projection');
      assert.equal(siblingQueue('db1-ranking', 'priority'), 'db1-projection-priority');
    });

    it('works without a prefix', () => {
      assert.equal(siblingQueue(TASK_QUEUES.projection, 'ranking'), TASK_QUEUES.ranking);
      assert.equal(siblingQueue(TASK_QUEUES.priority, 'ranking'), TASK_QUEUES.ranking);
    });

    it('answers the bare queue name for a queue it does not know', () => {
      assert.equal(siblingQueue('db1-custom', 'ranking'), 'ranking');
    });
  });

  describe('projection routes', () => {
    it('sends deletes and purges to the priority queue and everything else to the projection queue', () => {
      for (const type of EVENT_TYPES) {
        const route = PROJECTIONS[type];
        if (!route) continue;
        const want = route.kind === 'delete' || route.kind === 'purge' ? 'priority' : 'projection';
        assert.equal(route.queue, want, type);
      }
    });

    it('records pending and declined connection requests without projecting them', () => {
      assert.deepEqual(
        EVENT_TYPES.filter((t) => !PROJECTIONS[t]),
        ['ConnectionRequested', 'ConnectionDeclined'],
      );
    });
  });
});
