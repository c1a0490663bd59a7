import { strict as assert } from 'node:assert';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createConsistencyActivities } from '../../activities/consistency';
import { Visibility } from '../../gen/feedflow/v1/common_pb';
import { FeedReason, FeedView } from '../../gen/feedflow/v1/feed_pb';
import { createLogger } from '../../lib/logger';
import type { PullTransitionResult } from '../../pipeline/contracts/projection';
import type { Graph } from '../../stores/graph';
import { readModel } from '../../stores/read-model';
import { writeModel } from '../../stores/write-model';
import { historyToFixture } from '../support/bundle';
import { temporalEnv } from '../support/env';
import { feedOf as pushedOf } from '../support/projection';
import { startQueryHarness, type QueryHarness } from '../support/query';
import { waitFor } from '../support/wait';
import { runProjectionWorkers, type RunningWorkers } from '../support/workers';

type Receipt = { receipt?: { consistencyToken: string } };
const token = (r: Receipt) => r.receipt!.consistencyToken;

/**
 * An author crossing PULL_AUTHOR_THRESHOLD either way: followers keep every recent post, each once, at the very
 * read that carries the crossing post's token, and the consistency checks agree with what was built. Set
 * RECORD_HISTORIES=1 to re-record the pull transition's replay fixture from this run.
 */
describe('pull author transitions', function () {
  this.timeout(240_000);
  let h: QueryHarness;
  let env: TestWorkflowEnvironment;
  let workers: RunningWorkers & { graph: Graph };

  before(async () => {
    h = await startQueryHarness({
      CONSISTENCY_MAX_WAIT_MS: '20000',
      // More than three followers make a pull author, so a few follows and unfollows cross it.
      PULL_AUTHOR_THRESHOLD: '3',
      FEED_SECOND_DEGREE_AUTHORS: '0',
    });
    env = await temporalEnv(h.stores.config);
    workers = await runProjectionWorkers(env.nativeConnection, h.stores, h.prefix);
  });
  after(async () => {
    await workers?.stop();
    await h?.close();
    await env?.teardown();
  });

  /** The first page as `postId reason`, after the token's event is projected for the viewer. */
  const feed = async (viewerId: string, r?: Receipt) => {
    const res = await h.feed.getFeed({
      viewerId,
      pageSize: 50,
      view: FeedView.V3_PERSONALIZED,
      minConsistencyToken: r ? token(r) : '',
    });
    assert.equal(res.stale, false, `${viewerId}'s feed caught up`);
    return res.items.map((i) => `${i.post!.postId} ${FeedReason[i.reason]}`);
  };
  const post = (authorId: string, content: string) =>
    h.client.createPost({ authorId, content, visibility: Visibility.PUBLIC, postType: 1 });
  const follow = async (followerId: string, followeeId: string) => {
    const r = await h.client.follow({ followerId, followeeId });
    await feed(followerId, r);
    return r;
  };
  /** The deep check over these members and the recent check over this suite's events: nothing to find. */
  const checksFindNothing = async (members: string[]) => {
    const logger = createLogger('pull-transition-test', 'silent');
    const checks = createConsistencyActivities({
      db: h.stores.db,
      graph: workers.graph,
      config: h.stores.config,
      logger,
    });
    const deep = await checks.checkMemberFeeds({ viewerIds: members, sample: 0, scoreWindowMs: 3_600_000 });
    assert.deepEqual(deep.findings, [], 'the deep check agrees with the feeds');
    const recent = await checks.checkRecentEvents({
      windowMs: 600_000,
      settleMs: 0,
      scoreWindowMs: 3_600_000,
      until: new Date().toISOString(),
    });
    assert.deepEqual(recent.findings, [], 'the recent check agrees with the feeds');
  };

  it('keeps the pushed posts of a newly promoted author and shows each post once beside the pulled ones', async () => {
    const ann = await h.register('Ann');
    const fans = await Promise.all(['F1', 'F2', 'F3', 'F4'].map((n) => h.register(n)));
    for (const f of fans.slice(0, 3)) await follow(f, ann);
    const p1 = await post(ann, 'one');
    const p2 = await post(ann, 'two');
    for (const f of fans.slice(0, 3)) await feed(f, p2);
    // The fourth follower takes Ann over the threshold; the next post finds out and is pulled, not pushed.
    await follow(fans[3], ann);
    const p3 = await post(ann, 'three');

    for (const f of fans.slice(0, 3)) {
      assert.deepEqual(await feed(f, p3), [
        `${p3.postId} POPULAR_AUTHOR`,
        `${p2.postId} FOLLOW`,
        `${p1.postId} FOLLOW`,
      ]);
      assert.deepEqual(await pushedOf(h.stores, f), [`${p1.postId}@1`, `${p2.postId}@1`].sort(), 'pushed items stay');
    }
    assert.deepEqual(await feed(fans[3], p3), [
      `${p3.postId} POPULAR_AUTHOR`,
      `${p2.postId} BACKFILL`,
      `${p1.postId} BACKFILL`,
    ]);
    const record = await readModel(h.stores.db).pullAuthors.findOne({ _id: ann });
    assert.ok(record, 'Ann is a pull author');
    await checksFindNothing([ann, ...fans]);
  });

  it('pushes a demoted author’s recent posts to followers without a gap, before the pull record goes', async () => {
    const bob = await h.register('Bob');
    const fans = await Promise.all(['G1', 'G2', 'G3', 'G4'].map((n) => h.register(n)));
    for (const f of fans.slice(0, 3)) await follow(f, bob);
    const q0 = await post(bob, 'pushed');
    // Pushed before the fourth follower counts: a fan-out reads the follower count when it starts.
    for (const f of fans.slice(0, 3)) await feed(f, q0);
    await follow(fans[3], bob);
    const q1 = await post(bob, 'first pulled');
    const q2 = await post(bob, 'second pulled');
    for (const f of fans) await feed(f, q2);
    // Both pulled posts' fan-outs are done with the pull record (a read carrying q2's token may answer first).
    await Promise.all([q1, q2].map((q) => h.projected(q.receipt?.eventId)));
    const record = await readModel(h.stores.db).pullAuthors.findOne({ _id: bob });
    assert.ok(record, 'Bob is a pull author');
    for (const f of fans)
      assert.deepEqual(await pushedOf(h.stores, f), [`${q0.postId}@1`], 'pulled posts are not pushed');

    // The fourth follower leaves: Bob is back under the threshold, and his next post is pushed to everyone.
    const left = await h.client.unfollow({ followerId: fans[3], followeeId: bob });
    assert.deepEqual(await feed(fans[3], left), []);
    const q3 = await post(bob, 'pushed again');
    const before = [q3, q2, q1, q0].map((q) => q.postId);
    for (const f of fans.slice(0, 3)) {
      // The very read that carries the crossing post's token: every earlier post is there, each once.
      const seen = await feed(f, q3);
      assert.deepEqual(
        seen.map((s) => s.split(' ')[0]),
        before,
        `${f} sees all of Bob's posts`,
      );
      assert.equal(seen[0], `${q3.postId} FOLLOW`);
      assert.equal(seen[3], `${q0.postId} FOLLOW`);
    }

    // The transition's business key names the author and the state of the pull record it ends.
    const transition = `${h.prefix}pull-transition/author/${bob}/${record.updatedAt.getTime()}`;
    await h.projected(q3.receipt?.eventId);
    const result = (await h.temporal.workflow.getHandle(transition).result()) as PullTransitionResult;
    if (process.env.RECORD_HISTORIES) {
      const history = await h.temporal.workflow.getHandle(transition).fetchHistory();
      await writeFile(
        resolve(__dirname, '../fixtures/histories/pullTransitionWorkflow.json'),
        historyToFixture(history),
      );
    }
    assert.deepEqual(
      { ...result },
      { authorId: bob, superseded: false, posts: 4, pages: 1, written: 12, recordRemoved: true },
    );
    assert.equal(await readModel(h.stores.db).pullAuthors.findOne({ _id: bob }), null, 'the pull record is gone');
    const pushed = before.map((id) => `${id}@1`).sort();
    for (const f of fans.slice(0, 3)) {
      assert.deepEqual(await pushedOf(h.stores, f), pushed, `${f} holds every post pushed`);
      assert.deepEqual(
        await feed(f, q3),
        before.map((id) => `${id} FOLLOW`),
      );
    }
    assert.deepEqual(await feed(fans[3]), [], 'the member who left gets nothing');
    assert.deepEqual(await pushedOf(h.stores, fans[3]), []);
    await checksFindNothing([bob, ...fans]);
  });
});

/**
 * A pull period longer than the lookback: posts that aged out of it while the author was pulled are not pushed by
 * the transition, and the checks' expected feed knows it (a gap recorded in `pull_gaps`).
 */
describe('pull author transitions after a long pull period', function () {
  this.timeout(240_000);
  const LOOKBACK_MS = 20_000;
  let h: QueryHarness;
  let env: TestWorkflowEnvironment;
  let workers: RunningWorkers & { graph: Graph };

  before(async () => {
    h = await startQueryHarness({
      CONSISTENCY_MAX_WAIT_MS: '20000',
      PULL_AUTHOR_THRESHOLD: '1',
      PULL_LOOKBACK_DAYS: String(LOOKBACK_MS / 86_400_000),
      FEED_SECOND_DEGREE_AUTHORS: '0',
    });
    env = await temporalEnv(h.stores.config);
    workers = await runProjectionWorkers(env.nativeConnection, h.stores, h.prefix);
  });
  after(async () => {
    await workers?.stop();
    await h?.close();
    await env?.teardown();
  });

  const read = async (viewerId: string, r?: Receipt) => {
    const res = await h.feed.getFeed({ viewerId, pageSize: 50, minConsistencyToken: r ? token(r) : '' });
    assert.equal(res.stale, false);
    return res.items.map((i) => i.post!.postId);
  };
  const post = (authorId: string, content: string) =>
    h.client.createPost({ authorId, content, visibility: Visibility.PUBLIC, postType: 1 });

  it('pushes only the window and records the older part of the pull period as a gap', async () => {
    const [cal, fan, extra] = [await h.register('Cal'), await h.register('Fan'), await h.register('Extra')];
    await read(fan, await h.client.follow({ followerId: fan, followeeId: cal }));
    await read(extra, await h.client.follow({ followerId: extra, followeeId: cal }));
    const aged = await post(cal, 'pulled, then aged out of the lookback');
    assert.deepEqual(await read(fan, aged), [aged.postId]);
    const agedAt = (await writeModel(h.stores.db).posts.findOne({ _id: aged.postId }))!.createdAt.getTime();
    await waitFor(() => Date.now() > agedAt + LOOKBACK_MS + 2_000, {
      message: 'the first post to age out of the lookback',
      timeoutMs: LOOKBACK_MS + 10_000,
      intervalMs: 250,
    });
    const recent = await post(cal, 'pulled, recent');
    assert.deepEqual(await read(fan, recent), [recent.postId], 'the aged post is out of the lookback');
    const left = await h.client.unfollow({ followerId: extra, followeeId: cal });
    await read(extra, left);
    const record = await readModel(h.stores.db).pullAuthors.findOne({ _id: cal });
    assert.ok(record?.since, 'Cal is a pull author since his first post');
    const back = await post(cal, 'pushed again');
    assert.deepEqual(await read(fan, back), [back.postId, recent.postId]);

    // The fan-out starts the transition after its first page: wait for the fan-out before looking for it.
    await h.projected(back.receipt?.eventId);
    await h.temporal.workflow
      .getHandle(`${h.prefix}pull-transition/author/${cal}/${record.updatedAt.getTime()}`)
      .result();
    assert.deepEqual(await pushedOf(h.stores, fan), [`${back.postId}@1`, `${recent.postId}@1`].sort());
    const gaps = await readModel(h.stores.db).pullGaps.find({ authorId: cal }).toArray();
    assert.equal(gaps.length, 1);
    assert.equal(gaps[0].from.getTime(), record.since.getTime());
    const aging = (await writeModel(h.stores.db).posts.findOne({ _id: aged.postId }))!;
    assert.ok(gaps[0].to > aging.createdAt, 'the aged post lies in the gap');

    const logger = createLogger('pull-transition-test', 'silent');
    const checks = createConsistencyActivities({
      db: h.stores.db,
      graph: workers.graph,
      config: h.stores.config,
      logger,
    });
    const deep = await checks.checkMemberFeeds({ viewerIds: [cal, fan, extra], sample: 0, scoreWindowMs: 3_600_000 });
    assert.deepEqual(deep.findings, [], 'the deep check expects no aged post');
  });
});
