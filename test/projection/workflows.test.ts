import { strict as assert } from 'node:assert';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { createFanoutActivities } from '../../activities/fanout';
import type { createPostActivities } from '../../activities/posts';
import type { createProfileActivities } from '../../activities/profiles';
import type { createRelationshipActivities } from '../../activities/relationships';
import type { createStartActivities } from '../../activities/starts';
import {
  type FanoutPlan,
  type FanoutProgress,
  type FanoutSliceInput,
  progressQuery,
  type ProjectionInput,
  type DetachedStart,
} from '../../pipeline/contracts/projection';
import { SEARCH_ATTRIBUTES } from '../../pipeline/search-attributes';
import { testConfig, temporalEnv, uniqueId } from '../support/env';
import { waitFor } from '../support/wait';
import { runWorkers } from '../support/workers';

type FanoutActivities = ReturnType<typeof createFanoutActivities>;
type PostActivities = ReturnType<typeof createPostActivities>;
type ProfileActivities = ReturnType<typeof createProfileActivities>;
type RelationshipActivities = ReturnType<typeof createRelationshipActivities>;
type StartActivities = ReturnType<typeof createStartActivities>;

function input(type: ProjectionInput['type'], extra: Partial<ProjectionInput> = {}): ProjectionInput {
  const postId = uniqueId('post');
  return {
    eventId: `post/${postId}/v1/${type}`,
    type,
    aggregateId: postId,
    postId,
    version: 1,
    acceptedAt: new Date().toISOString(),
    actorId: uniqueId('author'),
    ...extra,
  };
}

function plan(i: ProjectionInput, extra: Partial<FanoutPlan> = {}): FanoutPlan {
  return {
    postId: i.postId!,
    authorId: i.actorId,
    version: 1,
    actorVersion: 1,
    scope: 'connections+followers',
    audienceSize: 0,
    pullAuthor: false,
    ...extra,
  };
}

/**
 * A fake audience: the first page (with the author's own item) comes from startFanout, then `slices` slices of 10
 * pages of 1,000 viewers, addressed by cursor `c{n}`.
 */
function fakeFanout(p: FanoutPlan, slices: number, onSlice?: (req: FanoutSliceInput) => Promise<void>) {
  const calls = { start: 0, cursors: [] as string[], finish: 0 };
  const activities: FanoutActivities = {
    async startFanout() {
      calls.start++;
      if (p.scope === 'none') return { plan: p, cursor: null, pages: 0, written: p.skipped ? 0 : 1 };
      return { plan: p, cursor: slices > 0 ? 'c0' : null, pages: 1, written: 1_001 };
    },
    async fanoutSlice(req) {
      calls.cursors.push(req.cursor);
      await onSlice?.(req);
      const n = Number(req.cursor.slice(1));
      return { cursor: n + 1 < slices ? `c${n + 1}` : null, pages: 10, written: 10_000, deleted: false };
    },
    async finishFanout() {
      calls.finish++;
      return { purged: 0, updated: 0, refreshed: 0 };
    },
  };
  return { calls, activities };
}

describe('Projection workflows (mocked activities)', function () {
  this.timeout(120_000);
  let env: TestWorkflowEnvironment;
  const config = testConfig();
  before(async () => {
    env = await temporalEnv(config);
  });
  after(async () => env?.teardown());

  /** What the workflows under test handed to other queues (recorded, not started). */
  let handedOff: DetachedStart[] = [];

  async function withWorker<T>(activities: object, fn: (taskQueue: string) => Promise<T>): Promise<T> {
    const taskQueue = uniqueId('wf-test-');
    handedOff = [];
    const starts: StartActivities = {
      async startDetached(req) {
        handedOff.push(...req);
        return req.length;
      },
    };
    const workers = await runWorkers(env.nativeConnection, config.TEMPORAL_NAMESPACE, [taskQueue], {
      ...starts,
      ...activities,
    });
    try {
      return await fn(taskQueue);
    } finally {
      await workers.stop();
    }
  }

  describe('fanoutPostWorkflow', () => {
    it('pages through the audience slice by slice, then reconciles, and reports its progress', async () => {
      const i = input('PostCreated');
      const fake = fakeFanout(plan(i, { audienceSize: 25_000 }), 3);
      await withWorker(fake.activities, async (taskQueue) => {
        const handle = await env.client.workflow.start('fanoutPostWorkflow', {
          taskQueue,
          workflowId: i.eventId,
          args: [i],
        });
        const result = await handle.result();
        assert.deepEqual(result, {
          postId: i.postId,
          version: 1,
          audienceSize: 25_000,
          pagesDone: 31,
          itemsWritten: 31_001,
          pullAuthor: false,
        });
        assert.deepEqual(fake.calls, { start: 1, cursors: ['c0', 'c1', 'c2'], finish: 1 });
        assert.deepEqual(await handle.query(progressQuery), {
          pagesDone: 31,
          itemsWritten: 31_001,
          cursor: null,
          audienceSize: 25_000,
          done: true,
        });
        const desc = await handle.describe();
        assert.equal((await desc.memo)?.audienceSize, 25_000);
        // Started without search attributes, as from the CLI: the workflow sets them itself.
        assert.equal(desc.typedSearchAttributes.get(SEARCH_ATTRIBUTES.postId), i.postId);
        assert.equal(desc.typedSearchAttributes.get(SEARCH_ATTRIBUTES.authorId), i.actorId);
        assert.equal(desc.typedSearchAttributes.get(SEARCH_ATTRIBUTES.feedOperation), 'fanout');
      });
    });

    it('hands each written range to scoring without a child workflow, and starts no cap sweep', async () => {
      const i = input('PostCreated');
      const fake = fakeFanout(plan(i, { audienceSize: 25_000 }), 3);
      await withWorker(fake.activities, async (taskQueue) => {
        await env.client.workflow.execute('fanoutPostWorkflow', { taskQueue, workflowId: i.eventId, args: [i] });
        const history = await env.client.workflow.getHandle(i.eventId).fetchHistory();
        const children = history.events?.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes) ?? [];
        assert.equal(children.length, 0);
        // The first page, then one range per slice, each named by the page it starts at.
        assert.deepEqual(
          handedOff.map((s) => [s.workflowId, s.queue]),
          [0, 1, 11, 21].map((p) => [`score/post/${i.postId}/v1/p${p}`, 'ranking']),
        );
      });
    });

    it('answers the progress query mid fan-out', async () => {
      const i = input('PostCreated');
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const fake = fakeFanout(plan(i, { audienceSize: 20_000 }), 2, async (req) => {
        if (req.cursor === 'c1') await gate;
      });
      await withWorker(fake.activities, async (taskQueue) => {
        const handle = await env.client.workflow.start('fanoutPostWorkflow', {
          taskQueue,
          workflowId: i.eventId,
          args: [i],
        });
        const mid = await waitForProgress(handle, (p) => p.pagesDone === 11);
        assert.deepEqual(mid, { pagesDone: 11, itemsWritten: 11_001, cursor: 'c1', audienceSize: 20_000, done: false });
        release();
        assert.equal((await handle.result()).itemsWritten, 21_001);
      });
    });

    it('continues as new every 100 slices, carrying plan, progress, memo and search attributes', async () => {
      const i = input('PostCreated');
      const fake = fakeFanout(plan(i, { audienceSize: 2_300_000 }), 230);
      await withWorker(fake.activities, async (taskQueue) => {
        const handle = await env.client.workflow.start('fanoutPostWorkflow', {
          taskQueue,
          workflowId: i.eventId,
          args: [i],
          typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.feedOperation, value: 'fanout' }],
        });
        const result = await handle.result();
        assert.equal(result.pagesDone, 2_301);
        assert.equal(result.itemsWritten, 2_301_001);
        assert.equal(fake.calls.start, 1);
        assert.equal(fake.calls.cursors.length, 230);
        assert.equal(new Set(fake.calls.cursors).size, 230);
        const latest = await env.client.workflow.getHandle(i.eventId).describe();
        assert.notEqual(latest.runId, handle.firstExecutionRunId);
        assert.equal((await latest.memo)?.audienceSize, 2_300_000);
        assert.equal(latest.typedSearchAttributes.get(SEARCH_ATTRIBUTES.postId), i.postId);
        const history = await env.client.workflow.getHandle(i.eventId).fetchHistory();
        assert.ok((history.events?.length ?? 0) < 1_000, `last run has ${history.events?.length} events`);
      });
    });

    it('writes only the author’s item for a private post, and nothing for a deleted one', async () => {
      for (const [extra, written] of [
        [{ scope: 'none' as const }, 1],
        [{ scope: 'none' as const, skipped: 'deleted' as const }, 0],
      ] as const) {
        const i = input('PostCreated');
        const fake = fakeFanout(plan(i, extra), 5);
        await withWorker(fake.activities, async (taskQueue) => {
          const result = await env.client.workflow.execute('fanoutPostWorkflow', {
            taskQueue,
            workflowId: i.eventId,
            args: [i],
          });
          assert.equal(result.itemsWritten, written);
          assert.deepEqual(fake.calls.cursors, []);
          assert.equal(fake.calls.finish, 1);
        });
      }
    });

    it('fails fast, without retrying, on bad input', async () => {
      const fake = fakeFanout(plan(input('PostCreated')), 1);
      await withWorker(fake.activities, async (taskQueue) => {
        const err = await env.client.workflow
          .execute('fanoutPostWorkflow', { taskQueue, workflowId: uniqueId('bad-'), args: [{}] })
          .catch((e: unknown) => e);
        assert.ok(err instanceof WorkflowFailedError);
        assert.equal((err.cause as { type?: string }).type, 'InvalidInput');
        assert.equal(fake.calls.start, 0);
      });
    });
  });

  describe('local steps', () => {
    /** syncProfile failing in every local try (a store down for the worker), then succeeding as an activity. */
    const flaky = (calls: Array<'local' | 'activity'>): Pick<ProfileActivities, 'syncProfile'> => ({
      async syncProfile(i) {
        const local = Context.current().info.isLocal;
        calls.push(local ? 'local' : 'activity');
        if (local) throw new Error('store unreachable from this worker');
        return { userId: i.aggregateId, version: i.version, itemsRefreshed: 3 };
      },
    });

    it('moves a step that keeps failing locally to an activity, where it shows with attempts and error', async () => {
      const calls: Array<'local' | 'activity'> = [];
      await withWorker(flaky(calls), async (taskQueue) => {
        const i = input('ProfileUpdated', { aggregateId: uniqueId('u'), version: 2 });
        const result = await env.client.workflow.execute('profileWorkflow', {
          taskQueue,
          workflowId: i.eventId,
          args: [i],
        });
        assert.equal(result.itemsRefreshed, 3);
        assert.deepEqual(calls, ['local', 'local', 'local', 'activity']);
        const history = await env.client.workflow.getHandle(i.eventId).fetchHistory();
        assert.equal(history.events!.filter((e) => e.activityTaskScheduledEventAttributes).length, 1);
      });
    });

    it('fails at once on a permanent failure, without the activity form', async () => {
      const calls: string[] = [];
      const activities: Pick<ProfileActivities, 'syncProfile'> = {
        async syncProfile() {
          calls.push('local');
          throw ApplicationFailure.create({ type: 'NotFound', nonRetryable: true, message: 'no such event' });
        },
      };
      await withWorker(activities, async (taskQueue) => {
        const i = input('ProfileUpdated', { aggregateId: uniqueId('u'), version: 2 });
        const err = await env.client.workflow
          .execute('profileWorkflow', { taskQueue, workflowId: i.eventId, args: [i] })
          .catch((e: unknown) => e);
        assert.ok(err instanceof WorkflowFailedError);
        assert.equal((err.cause as { type?: string }).type, 'NotFound');
        assert.deepEqual(calls, ['local']);
      });
    });
  });

  describe('deletePostWorkflow', () => {
    it('tombstones before it purges', async () => {
      const order: string[] = [];
      const activities: Pick<PostActivities, 'markPostDeleted' | 'purgePost'> = {
        async markPostDeleted() {
          order.push('tombstone');
        },
        async purgePost(i) {
          order.push('purge');
          return { postId: i.postId!, itemsPurged: 4 };
        },
      };
      await withWorker(activities, async (taskQueue) => {
        const i = input('PostDeleted');
        const result = await env.client.workflow.execute('deletePostWorkflow', {
          taskQueue,
          workflowId: i.eventId,
          args: [i],
        });
        assert.deepEqual(result, { postId: i.postId, itemsPurged: 4 });
        assert.deepEqual(order, ['tombstone', 'purge']);
      });
    });
  });

  describe('backfillWorkflow and purgeWorkflow', () => {
    const relationshipMocks = (log: string[]) => {
      const activities: RelationshipActivities = {
        async syncRelationship(i) {
          log.push(`sync ${i.type}`);
          return { a: 'from', b: 'to', edgesApplied: 1 };
        },
        async backfillFeed(req) {
          log.push(`backfill ${req.viewerId}<-${req.authorId}`);
          return 2;
        },
        async backfillFeedItems(req) {
          log.push(`backfill ${req.viewerId}<-${req.authorId}`);
          // Nothing delivered, so nothing to score: the scoring child is covered end to end in test/ranking.
          return { written: 0, postIds: [] };
        },
        async purgeRelationship(pair) {
          log.push(`purge ${pair.a},${pair.b}`);
          return { [pair.a]: 1, [pair.b]: 0 };
        },
      };
      return activities;
    };

    it('backfills the follower only, and both members of a connection', async () => {
      for (const [type, expected] of [
        ['Followed', ['sync Followed', 'backfill from<-to']],
        ['ConnectionAccepted', ['sync ConnectionAccepted', 'backfill from<-to', 'backfill to<-from']],
      ] as const) {
        const log: string[] = [];
        await withWorker(relationshipMocks(log), async (taskQueue) => {
          const i = input(type, { aggregateId: uniqueId('rel'), subjectId: 'to' });
          await env.client.workflow.execute('backfillWorkflow', { taskQueue, workflowId: i.eventId, args: [i] });
          assert.deepEqual(log, expected);
        });
      }
    });

    it('syncs the graph before purging both feeds', async () => {
      const log: string[] = [];
      await withWorker(relationshipMocks(log), async (taskQueue) => {
        const i = input('Blocked', { aggregateId: uniqueId('rel'), subjectId: 'to' });
        const result = await env.client.workflow.execute('purgeWorkflow', {
          taskQueue,
          workflowId: i.eventId,
          args: [i],
        });
        assert.deepEqual(result, { purged: { from: 1, to: 0 } });
        assert.deepEqual(log, ['sync Blocked', 'purge from,to']);
      });
    });
  });
});

function waitForProgress(
  handle: { query: (q: typeof progressQuery) => Promise<FanoutProgress> },
  done: (p: FanoutProgress) => boolean,
): Promise<FanoutProgress> {
  return waitFor(
    async () => {
      const p = await handle.query(progressQuery);
      return done(p) ? p : undefined;
    },
    { message: 'the fan-out progress to reach the expected state', timeoutMs: 20_000 },
  );
}
