import { strict as assert } from 'node:assert';
import { createGraph, type Graph } from '../../stores/graph';
import { openStores, type TestStores, uniqueId } from '../support/env';

describe('Graph adapter', function () {
  this.timeout(60_000);
  let stores: TestStores;
  let graph: Graph;
  before(async () => {
    stores = await openStores();
    graph = createGraph(stores.graph, stores.config.GRAPH_DIALECT);
    await graph.ensureSchema();
    await graph.ensureSchema(); // idempotent
  });
  after(async () => stores?.close());

  /** Ids sort in the order given, so paging assertions can name members. */
  const members = (n: number) => {
    const p = uniqueId('g');
    return Array.from({ length: n }, (_, i) => `${p}-${String(i).padStart(3, '0')}`);
  };
  const ids = async (author: string, scope: 'connections' | 'connections+followers', limit = 100) => {
    const out: string[] = [];
    let cursor = '';
    for (;;) {
      const page = await graph.audiencePage(author, scope, cursor, limit);
      out.push(...page.members.map((m) => `${m.id}:${m.reason}`));
      if (!page.next) return out;
      cursor = page.next;
    }
  };

  it('pages a public audience: connections and followers, deduplicated, minus blocks either way', async () => {
    const [author, conn, fan, both, blockedFan, blocker, followee, stranger] = members(8);
    await graph.syncEdges([
      { kind: 'CONNECTED', from: conn, to: author, active: true, version: 2 },
      { kind: 'FOLLOWS', from: fan, to: author, active: true, version: 1 },
      { kind: 'CONNECTED', from: author, to: both, active: true, version: 2 },
      { kind: 'FOLLOWS', from: both, to: author, active: true, version: 1 },
      { kind: 'FOLLOWS', from: blockedFan, to: author, active: true, version: 1 },
      { kind: 'BLOCKED', from: author, to: blockedFan, active: true, version: 1 },
      { kind: 'FOLLOWS', from: blocker, to: author, active: true, version: 1 },
      { kind: 'BLOCKED', from: blocker, to: author, active: true, version: 1 },
      { kind: 'FOLLOWS', from: author, to: followee, active: true, version: 1 },
    ]);
    await graph.ensureUsers([stranger]);
    assert.deepEqual(await ids(author, 'connections+followers'), [
      `${conn}:connection`,
      `${fan}:follow`,
      `${both}:connection`,
    ]);
    assert.deepEqual(await ids(author, 'connections'), [`${conn}:connection`, `${both}:connection`]);
    assert.deepEqual(await graph.audienceSize(author), { connections: 2, followers: 4, total: 5 });
  });

  it('pages by id cursor with short pages, never repeating or skipping a member', async () => {
    const [author, ...fans] = members(26);
    await graph.syncEdges(
      fans.map((f) => ({ kind: 'FOLLOWS' as const, from: f, to: author, active: true, version: 1 })),
    );
    for (const limit of [1, 5, 25, 100]) {
      assert.deepEqual(
        await ids(author, 'connections+followers', limit),
        fans.map((f) => `${f}:follow`),
      );
    }
  });

  it('applies only newer relationship versions, so a late old event cannot revive an edge', async () => {
    const [author, fan] = members(2);
    const follow = (active: boolean, version: number) => ({
      kind: 'FOLLOWS' as const,
      from: fan,
      to: author,
      active,
      version,
    });
    assert.equal(await graph.syncEdges([follow(true, 1)]), 1);
    assert.equal(await graph.syncEdges([follow(false, 2)]), 1);
    assert.equal(await graph.syncEdges([follow(true, 1)]), 0);
    assert.equal(await graph.syncEdges([follow(false, 2)]), 0);
    assert.deepEqual(await ids(author, 'connections+followers'), []);
    assert.equal(await graph.syncEdges([follow(true, 3)]), 1);
    assert.deepEqual(await ids(author, 'connections+followers'), [`${fan}:follow`]);
  });

  it('stores a connection once whichever way round it is synced', async () => {
    const [a, b] = members(2);
    await graph.syncEdges([{ kind: 'CONNECTED', from: b, to: a, active: true, version: 2 }]);
    await graph.syncEdges([{ kind: 'CONNECTED', from: a, to: b, active: false, version: 3 }]);
    assert.deepEqual(await ids(a, 'connections'), []);
    assert.deepEqual(await graph.networkCounts(b), { connections: 0, followers: 0, following: 0 });
  });

  it('answers the network with the seed weights, first degree before second, blocked members left out', async () => {
    const [me, friend, fan, idol, fof, foe] = members(6);
    await graph.syncEdges([
      { kind: 'CONNECTED', from: me, to: friend, active: true, version: 2 },
      { kind: 'FOLLOWS', from: fan, to: me, active: true, version: 1 },
      { kind: 'FOLLOWS', from: me, to: idol, active: true, version: 1 },
      { kind: 'CONNECTED', from: friend, to: fof, active: true, version: 2 },
      { kind: 'CONNECTED', from: friend, to: foe, active: true, version: 2 },
      { kind: 'BLOCKED', from: foe, to: me, active: true, version: 1 },
    ]);
    const net = await graph.network(me);
    assert.deepEqual(
      net.map((m) => [m.id, m.degree, m.weight, m.mutual]),
      [
        [friend, 1, 1, 1],
        [idol, 1, 0.7, 1],
        [fan, 1, 0.5, 1],
        [fof, 2, 1, 1],
      ],
    );
    assert.deepEqual(await graph.networkCounts(me), { connections: 1, followers: 1, following: 1 });
  });
});
