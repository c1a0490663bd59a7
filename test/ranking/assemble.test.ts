import assert from 'node:assert/strict';
import { type CommandStartedEvent, MongoClient } from 'mongodb';
import { createRankingActivities } from '../../activities/ranking';
import { acceptedRelationship } from '../../bench/seed';
import { connectionId, followId } from '../../domain/ids';
import type { ScoringPair } from '../../ranking/features';
import { detectStoreKind } from '../../stores/lookup';
import { closeEngagementModels } from '../../stores/model';
import { assembleFeatureInputs } from '../../stores/ranking-inputs';
import {
  type EngagementDoc,
  type EngagementKind,
  type PostDoc,
  type RelationshipDoc,
  writeModel,
  type WriteModel,
} from '../../stores/write-model';
import { openStores, type TestStores } from '../support/env';

const AT = new Date('2026-03-01T12:00:00Z');
const hoursAgo = (h: number) => new Date(AT.getTime() - h * 3_600_000);
const daysAgo = (d: number) => hoursAgo(d * 24);

function post(id: string, authorId: string, createdAt: Date, extra: Partial<PostDoc> = {}): PostDoc {
  return {
    _id: id,
    authorId,
    content: 'hello world',
    visibility: 'public',
    type: 'text',
    mediaUrls: [],
    version: 1,
    deleted: false,
    createdAt,
    updatedAt: createdAt,
    ...extra,
  };
}

function rel(
  id: string,
  type: RelationshipDoc['type'],
  from: string,
  to: string,
  extra: Partial<RelationshipDoc> = {},
): RelationshipDoc {
  return acceptedRelationship(id, type, from, to, AT, extra);
}

let seq = 0;
function eng(postId: string, userId: string, kind: EngagementKind, createdAt = hoursAgo(1)): EngagementDoc {
  return { _id: `e${seq++}`, postId, userId, kind, version: 1, createdAt };
}

/**
 * v is connected to a1 and m, follows a2, is followed by a3, reaches a4 through m, has a pending request to a5.
 * a1 posted p1 two hours ago, plus older posts that feed the author's rate and v's past interactions.
 */
async function seed(wm: WriteModel): Promise<void> {
  await wm.relationships.insertMany([
    rel(connectionId('v', 'a1'), 'connection', 'v', 'a1'),
    rel(connectionId('v', 'm'), 'connection', 'm', 'v'),
    rel(connectionId('m', 'a4'), 'connection', 'm', 'a4'),
    rel(connectionId('v', 'a5'), 'connection', 'v', 'a5', { status: 'pending' }),
    rel(connectionId('v', 'a6'), 'connection', 'v', 'a6', { active: false }),
    rel(followId('v', 'a2'), 'follow', 'v', 'a2'),
    rel(followId('a3', 'v'), 'follow', 'a3', 'v'),
    rel(followId('x1', 'a1'), 'follow', 'x1', 'a1'),
    rel(followId('x2', 'a1'), 'follow', 'x2', 'a1'),
    rel(followId('x3', 'a1'), 'follow', 'x3', 'a1', { active: false }),
  ]);
  await wm.posts.insertMany([
    post('p1', 'a1', hoursAgo(2), { type: 'image', mediaUrls: ['https://img/1.png'], content: 'x'.repeat(140) }),
    post('q1', 'a1', daysAgo(5)),
    post('q5', 'a1', daysAgo(10)),
    post('q2', 'a1', daysAgo(40)),
    post('q3', 'a1', daysAgo(100)),
    post('q4', 'a1', daysAgo(1), { deleted: true }),
    post('gone', 'a1', daysAgo(1), { deleted: true }),
    post('p2', 'a2', hoursAgo(30), { type: 'article' }),
    post('p3', 'a3', hoursAgo(1)),
    post('p4', 'a4', hoursAgo(1), { type: 'video', mediaUrls: ['https://v/1.mp4'] }),
    post('p5', 'a5', hoursAgo(1)),
    post('p6', 'a6', hoursAgo(1)),
    post('own', 'v', hoursAgo(1)),
  ]);
  await wm.engagements.insertMany([
    // p1 so far: 3 likes (one by v), 1 comment, 1 share; views and a later like do not count.
    eng('p1', 'x1', 'like'),
    eng('p1', 'x2', 'like'),
    eng('p1', 'v', 'like'),
    eng('p1', 'x1', 'comment'),
    eng('p1', 'x2', 'share'),
    eng('p1', 'x3', 'view'),
    eng('p1', 'x4', 'like', new Date(AT.getTime() + 3_600_000)),
    // a1's other posts: q1 has 4 engagements and q5 none inside 30 days, so a1's rate is 2 per post.
    eng('q1', 'x1', 'like', daysAgo(4)),
    eng('q1', 'x2', 'like', daysAgo(4)),
    eng('q1', 'v', 'like', daysAgo(4)),
    eng('q1', 'v', 'comment', daysAgo(4)),
    // v's past interactions with a1 inside 90 days: 2 on q1 and 1 on q2; not q3 (too old) nor q4 (deleted).
    eng('q2', 'v', 'share', daysAgo(39)),
    eng('q3', 'v', 'like', daysAgo(99)),
    eng('q4', 'v', 'like', hoursAgo(20)),
  ]);
}

describe('ranking: feature assembly from the write model', () => {
  let stores: TestStores;
  let wm: WriteModel;
  before(async () => {
    stores = await openStores();
    wm = writeModel(stores.db);
    await seed(wm);
  });
  after(async () => {
    await stores.close();
    await closeEngagementModels();
  });

  const pairs: ScoringPair[] = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'own', 'missing', 'gone'].map((postId) => ({
    viewerId: 'v',
    postId,
  }));

  it('builds every input of a pair from posts, relationships and engagements', async () => {
    const { rows } = await assembleFeatureInputs(wm, pairs, { at: AT });
    const p1 = rows.find((r) => r.postId === 'p1');
    assert.deepEqual(p1, {
      viewerId: 'v',
      postId: 'p1',
      authorId: 'a1',
      inputs: {
        connectionStrength: 1,
        degree: 'first',
        postType: 'image',
        hasMedia: true,
        contentLength: 140,
        postAgeHours: 2,
        authorEngagementRate: 2,
        likes: 3,
        comments: 1,
        shares: 1,
        pastInteractions: 3,
        authorFollowers: 2,
      },
    });
  });

  it("maps each relationship to the seed's strength and degree", async () => {
    const { rows } = await assembleFeatureInputs(wm, pairs, { at: AT });
    const rels = Object.fromEntries(
      rows.map((r) => [r.postId, [r.inputs.connectionStrength, r.inputs.degree, r.inputs.postType]]),
    );
    assert.deepEqual(rels, {
      p1: [1, 'first', 'image'],
      p2: [0.7, 'follow', 'article'],
      p3: [0.5, 'follow', 'text'],
      p4: [0.3, 'second', 'video'],
      p5: [0, 'none', 'text'], // a pending request is no connection
      p6: [0, 'none', 'text'], // a removed connection neither
      own: [1, 'first', 'text'],
    });
  });

  it('skips pairs whose post is missing or deleted', async () => {
    const { skipped } = await assembleFeatureInputs(wm, pairs, { at: AT });
    assert.deepEqual(skipped, [
      { viewerId: 'v', postId: 'missing', reason: 'post-missing' },
      { viewerId: 'v', postId: 'gone', reason: 'post-deleted' },
    ]);
  });

  /** A `$in` on the field a read is indexed by: a table scan on FerretDB. */
  const LEAD_IN = /"(_id|to|from|authorId|postId|userId)":\{"\$in"/;

  it('batches its queries: a fixed number on MongoDB, one index read per distinct value on FerretDB', async () => {
    const monitored = new MongoClient(stores.config.MONGODB_URI, { monitorCommands: true });
    const commands: string[] = [];
    const filters: string[] = [];
    monitored.on('commandStarted', (e: CommandStartedEvent) => {
      if (!['find', 'aggregate', 'getMore'].includes(e.commandName)) return;
      commands.push(e.commandName);
      const filter = e.command.filter ?? e.command.pipeline?.[0]?.$match;
      if (filter) filters.push(`${e.command.find ?? e.command.aggregate} ${JSON.stringify(filter)}`);
    });
    try {
      const mwm = writeModel(monitored.db(stores.config.MONGODB_DB));
      const ferret = (await detectStoreKind(stores.db)) === 'ferretdb';
      await assembleFeatureInputs(mwm, pairs.slice(0, 2), { at: AT });
      const few = commands.splice(0).length;
      filters.splice(0);
      const many = Array.from({ length: 300 }, (_, i) => ({ viewerId: `u${i}`, postId: pairs[i % 7].postId }));
      const result = await assembleFeatureInputs(mwm, many, { at: AT });
      assert.equal(result.rows.length, 300);
      if (!ferret) {
        assert.ok(few <= 7, `${few} queries for 2 pairs`);
        assert.ok(commands.length <= 7, `${commands.length} queries for 300 pairs: ${commands.join(', ')}`);
      } else {
        // FerretDB serves only equalities from an index, so each value is its own read: never a `$in` (a table
        // scan there) and never the same read twice (no read per pair).
        assert.ok(
          !filters.some((f) => LEAD_IN.test(f)),
          filters.find((f) => LEAD_IN.test(f)),
        );
        assert.equal(new Set(filters).size, filters.length, 'a read repeated');
      }
    } finally {
      await monitored.close();
    }
  });

  it('scores every live pair with the model version through the scoring activity', async () => {
    const { scoreItems } = createRankingActivities({ db: stores.db });
    const result = await scoreItems({ items: pairs, scoredAt: AT.getTime() });
    assert.equal(result.modelVersion, 'engagement-v1');
    assert.equal(result.scoredAt, AT.getTime());
    assert.deepEqual(
      result.scores.map((s) => s.postId),
      ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'own'],
    );
    for (const s of result.scores) assert.ok(s.score > 0 && s.score < 1, `${s.postId}: ${s.score}`);
    const score = (id: string) => result.scores.find((s) => s.postId === id)?.score ?? NaN;
    assert.ok(score('p1') > score('p5'), 'a close, engaged connection outranks a stranger');
    assert.deepEqual(
      result.skipped.map((s) => s.reason),
      ['post-missing', 'post-deleted'],
    );
  });
});
