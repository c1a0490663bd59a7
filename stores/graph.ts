import neo4j, { type Driver, type ManagedTransaction } from 'neo4j-driver';
import type { AudienceReason } from '../domain/reasons';
import type { AudienceScope } from '../domain/visibility';

/**
 * The social graph over Bolt: the only module that knows Cypher. Portable between Memgraph and Neo4j: MERGE,
 * UNWIND batches and parameters only; the index DDL is the one dialect-specific part.
 *
 * Every edge keeps the write-model relationship's `version` and an `active` flag. An ended relationship keeps
 * its edge (inactive) so an older, late event can never revive it: a sync applies only a newer version.
 * CONNECTED is stored once per pair, from the lower id to the higher, and is matched undirected.
 */

export type GraphDialect = 'memgraph' | 'neo4j';
export type EdgeKind = 'CONNECTED' | 'FOLLOWS' | 'BLOCKED';

/** The write-model state of one relationship, as the graph should hold it. */
export interface EdgeState {
  kind: EdgeKind;
  from: string;
  to: string;
  active: boolean;
  version: number;
}

export interface AudienceMember {
  id: string;
  reason: AudienceReason;
}
export interface AudiencePage {
  members: AudienceMember[];
  /** Cursor for the next page (the last id examined), or null when the audience is exhausted. */
  next: string | null;
}
/** The scopes that page through the graph ('none' never does). */
export type PushScope = Exclude<AudienceScope, 'none'>;

export interface NetworkMember {
  id: string;
  degree: 1 | 2;
  weight: number;
  /** First-degree members linking to this one (1 for a first-degree member). */
  mutual: number;
}

/** The seed's edge weights: a connection counts fully, a follow more from the follower's side. */
export const EDGE_WEIGHTS = { connected: 1.0, following: 0.7, followedBy: 0.5 } as const;

/** The member label and its id constraint; a label of its own lets a test race a fresh schema on a shared graph. */
const DDL: Record<GraphDialect, (label: string) => string[]> = {
  neo4j: (label) => [
    `CREATE CONSTRAINT ${label.toLowerCase()}_id_unique IF NOT EXISTS FOR (u:${label}) REQUIRE u.id IS UNIQUE`,
  ],
  memgraph: (label) => [`CREATE INDEX ON :${label}(id)`, `CREATE CONSTRAINT ON (u:${label}) ASSERT u.id IS UNIQUE`],
};

/**
 * Schema statements from processes starting together contend for the same schema lock: Neo4j answers one of
 * them with a transient DeadlockDetected, Memgraph with a transient conflict, and a graph still booting is
 * unavailable. Those are retried with backoff for about twenty seconds; anything else fails the start.
 */
const SCHEMA_ATTEMPTS = 10;
const SCHEMA_BACKOFF_MS = { first: 100, max: 5_000 };

// Relationship types cannot be parameters, so each kind gets its own statement.
const SYNC_EDGES = (kind: EdgeKind) => `
UNWIND $edges AS e
MERGE (a:User {id: e.from})
MERGE (b:User {id: e.to})
MERGE (a)-[r:${kind}]->(b)
ON CREATE SET r.version = -1, r.active = false
WITH r, e WHERE r.version < e.version
SET r.version = e.version, r.active = e.active
RETURN count(r) AS applied`;

// Keyset paging: the candidates above the cursor, deduplicated per viewer, in id order. Blocks are checked after
// the LIMIT (they are rare), so a page may come back short while the cursor still advances past the blocked id.
const AUDIENCE_PAGE = (scope: PushScope) => `
MATCH (a:User {id: $authorId})-[r:${scope === 'connections' ? 'CONNECTED' : 'CONNECTED|FOLLOWS'}]-(v:User)
WHERE r.active AND v.id > $cursor AND (type(r) = 'CONNECTED' OR startNode(r) = v)
WITH a, v, max(CASE type(r) WHEN 'CONNECTED' THEN 1 ELSE 0 END) AS connected
ORDER BY v.id
LIMIT $limit
OPTIONAL MATCH (a)-[b:BLOCKED]-(v)
WHERE b.active
RETURN v.id AS id, connected, count(b) AS blocks
ORDER BY id`;

const AUDIENCE_SIZE = `
MATCH (a:User {id: $authorId})-[r:CONNECTED|FOLLOWS]-(v:User)
WHERE r.active AND (type(r) = 'CONNECTED' OR startNode(r) = v)
RETURN count(DISTINCT CASE type(r) WHEN 'CONNECTED' THEN v.id END) AS connections,
       count(DISTINCT CASE type(r) WHEN 'FOLLOWS' THEN v.id END) AS followers,
       count(DISTINCT v.id) AS total`;

const NETWORK_COUNTS = `
MATCH (u:User {id: $id})
OPTIONAL MATCH (u)-[c:CONNECTED]-()
WHERE c.active
WITH u, count(c) AS connections
OPTIONAL MATCH (u)<-[f:FOLLOWS]-()
WHERE f.active
WITH u, connections, count(f) AS followers
OPTIONAL MATCH (u)-[g:FOLLOWS]->()
WHERE g.active
RETURN connections, followers, count(g) AS following`;

const FIRST_DEGREE = `
MATCH (u:User {id: $id})-[r:CONNECTED|FOLLOWS]-(m:User)
WHERE r.active
WITH m, max(CASE WHEN type(r) = 'CONNECTED' THEN $w.connected
                 WHEN startNode(r) = m THEN $w.followedBy
                 ELSE $w.following END) AS weight
OPTIONAL MATCH (u2:User {id: $id})-[b:BLOCKED]-(m)
WHERE b.active
WITH m, weight, count(b) AS blocks
WHERE blocks = 0
RETURN m.id AS id, weight
ORDER BY weight DESC, id
LIMIT $limit`;

const SECOND_DEGREE = `
UNWIND $firsts AS f
MATCH (m:User {id: f.id})-[r:CONNECTED|FOLLOWS]-(v:User)
WHERE r.active AND NOT v.id IN $exclude
WITH v, f.weight * CASE WHEN type(r) = 'CONNECTED' THEN $w.connected
                        WHEN startNode(r) = m THEN $w.following
                        ELSE $w.followedBy END AS weight, m
WITH v, max(weight) AS weight, count(DISTINCT m) AS mutual
OPTIONAL MATCH (u:User {id: $id})-[b:BLOCKED]-(v)
WHERE b.active
WITH v, weight, mutual, count(b) AS blocks
WHERE blocks = 0
RETURN v.id AS id, weight, mutual
ORDER BY weight DESC, mutual DESC, id
LIMIT $limit`;

// Health checks only: MERGE so repeated pings of one message leave one node.
const PING = 'MERGE (p:Ping {id: $id}) RETURN p.id AS id';

const toNumber = (v: unknown): number => (typeof v === 'number' ? v : Number(v));

/** The named counts of a query's one row; all 0 when it returned none. */
function countsOf<K extends string>(
  records: ReadonlyArray<{ get(key: string): unknown }>,
  keys: readonly K[],
): Record<K, number> {
  const r = records[0];
  return Object.fromEntries(keys.map((k) => [k, r ? toNumber(r.get(k)) : 0])) as Record<K, number>;
}

/** Reads in a managed read transaction of its own session. */
type Reader = <T>(work: (tx: ManagedTransaction) => Promise<T>) => Promise<T>;

async function ensureSchema(driver: Driver, dialect: GraphDialect, label = 'User'): Promise<void> {
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(label)) throw new Error(`bad schema label "${label}"`);
  for (const statement of DDL[dialect](label)) {
    for (let attempt = 1; ; attempt++) {
      const session = driver.session();
      try {
        await session.run(statement);
        break;
      } catch (err) {
        // Memgraph has no IF NOT EXISTS, and a racing Neo4j creator may lose: what exists is what we want.
        if (/already exists|exists already/i.test(String((err as Error).message))) break;
        if (!neo4j.isRetryableError(err) || attempt >= SCHEMA_ATTEMPTS) throw err;
        const backoff = Math.min(SCHEMA_BACKOFF_MS.first * 2 ** (attempt - 1), SCHEMA_BACKOFF_MS.max);
        await new Promise((r) => setTimeout(r, backoff / 2 + Math.random() * backoff));
      } finally {
        await session.close();
      }
    }
  }
}

async function network(read: Reader, userId: string, limit = 200, secondLimit = limit): Promise<NetworkMember[]> {
  const w = EDGE_WEIGHTS;
  const firstRes = await read((tx) => tx.run(FIRST_DEGREE, { id: userId, w, limit: neo4j.int(limit) }));
  const firsts = firstRes.records.map((r) => ({ id: r.get('id') as string, weight: toNumber(r.get('weight')) }));
  const result: NetworkMember[] = firsts.map((f) => ({ ...f, degree: 1, mutual: 1 }));
  if (firsts.length === 0 || secondLimit <= 0) return result;
  // Excluding only the first degree read: a first-degree member past `limit` may show as second degree,
  // which for discovery is a member the viewer already reaches, never a stranger.
  const exclude = [userId, ...firsts.map((f) => f.id)];
  const secondRes = await read((tx) =>
    tx.run(SECOND_DEGREE, { id: userId, firsts, exclude, w, limit: neo4j.int(secondLimit) }),
  );
  for (const r of secondRes.records) {
    result.push({
      id: r.get('id') as string,
      degree: 2,
      weight: toNumber(r.get('weight')),
      mutual: toNumber(r.get('mutual')),
    });
  }
  return result;
}

/** The graph adapter's operations: the Cypher stays behind them. */
export interface Graph {
  /**
   * Creates the User id index/constraint; safe to run from many processes at once. Schema statements cannot
   * run inside explicit transactions, so each is an auto-commit query, retried here on transient errors.
   */
  ensureSchema(label?: string): Promise<void>;
  /** Makes sure every member has a node, so later edge syncs and audience queries find them. */
  ensureUsers(ids: string[]): Promise<void>;
  /** Deletes members and all their edges (benchmarks and test clean-up; members are never deleted otherwise). */
  removeUsers(ids: string[]): Promise<void>;
  /** Applies relationship states newer than what the graph holds; returns how many edges changed. */
  syncEdges(edges: EdgeState[]): Promise<number>;
  /** One page of a post's audience, excluding the author and anyone blocked either way, in id order. */
  audiencePage(authorId: string, scope: PushScope, cursor: string, limit: number): Promise<AudiencePage>;
  /** Accepted connections and followers of a member (blocks not subtracted: they end both anyway). */
  audienceSize(authorId: string): Promise<{ connections: number; followers: number; total: number }>;
  /** A member's accepted connections, followers and followees. */
  networkCounts(userId: string): Promise<{ connections: number; followers: number; following: number }>;
  /**
   * First- then second-degree network with weights, strongest first; blocked members never appear. Up to
   * `limit` of each degree: the second degree is reached through the strongest `limit` first-degree members
   * and never crowded out by the first (a member with hundreds of connections still gets discovery).
   */
  network(userId: string, limit?: number, secondLimit?: number): Promise<NetworkMember[]>;
}

/** The graph adapter. `driver` must be built with `disableLosslessIntegers` (see lib/clients.ts). */
export function createGraph(driver: Driver, dialect: GraphDialect): Graph {
  const read = <T>(work: (tx: ManagedTransaction) => Promise<T>) => withSession((s) => s.executeRead(work), 'READ');
  const write = <T>(work: (tx: ManagedTransaction) => Promise<T>) => withSession((s) => s.executeWrite(work), 'WRITE');

  async function withSession<T>(
    fn: (s: ReturnType<Driver['session']>) => Promise<T>,
    mode: 'READ' | 'WRITE',
  ): Promise<T> {
    const session = driver.session({ defaultAccessMode: mode });
    try {
      return await fn(session);
    } finally {
      await session.close();
    }
  }

  return {
    async ensureSchema(label = 'User'): Promise<void> {
      return ensureSchema(driver, dialect, label);
    },

    async ensureUsers(ids: string[]): Promise<void> {
      if (ids.length === 0) return;
      await write((tx) => tx.run('UNWIND $ids AS id MERGE (:User {id: id})', { ids }));
    },

    async removeUsers(ids: string[]): Promise<void> {
      for (let i = 0; i < ids.length; i += 5_000) {
        const batch = ids.slice(i, i + 5_000);
        await write((tx) => tx.run('UNWIND $ids AS id MATCH (u:User {id: id}) DETACH DELETE u', { ids: batch }));
      }
    },

    async syncEdges(edges: EdgeState[]): Promise<number> {
      let applied = 0;
      for (const kind of ['CONNECTED', 'FOLLOWS', 'BLOCKED'] as const) {
        const batch = edges
          .filter((e) => e.kind === kind)
          .map((e) => (kind === 'CONNECTED' && e.from > e.to ? { ...e, from: e.to, to: e.from } : e));
        if (batch.length === 0) continue;
        const res = await write((tx) => tx.run(SYNC_EDGES(kind), { edges: batch }));
        applied += toNumber(res.records[0]?.get('applied') ?? 0);
      }
      return applied;
    },

    async audiencePage(authorId: string, scope: PushScope, cursor: string, limit: number): Promise<AudiencePage> {
      const res = await read((tx) => tx.run(AUDIENCE_PAGE(scope), { authorId, cursor, limit: neo4j.int(limit) }));
      const rows = res.records.map((r) => ({
        id: r.get('id') as string,
        connected: toNumber(r.get('connected')) > 0,
        blocked: toNumber(r.get('blocks')) > 0,
      }));
      const members = rows
        .filter((r) => !r.blocked)
        .map((r): AudienceMember => ({ id: r.id, reason: r.connected ? 'connection' : 'follow' }));
      return { members, next: rows.length < limit ? null : rows[rows.length - 1].id };
    },

    async audienceSize(authorId: string): Promise<{ connections: number; followers: number; total: number }> {
      const res = await read((tx) => tx.run(AUDIENCE_SIZE, { authorId }));
      return countsOf(res.records, ['connections', 'followers', 'total']);
    },

    async networkCounts(userId: string): Promise<{ connections: number; followers: number; following: number }> {
      const res = await read((tx) => tx.run(NETWORK_COUNTS, { id: userId }));
      return countsOf(res.records, ['connections', 'followers', 'following']);
    },

    async network(userId: string, limit = 200, secondLimit = limit): Promise<NetworkMember[]> {
      return network(read, userId, limit, secondLimit);
    },
  };
}

/** Round-trips one node through the graph: true when the id written comes back. */
export async function pingGraph(driver: Driver, id: string): Promise<boolean> {
  const res = await driver.executeQuery(PING, { id });
  return res.records[0]?.get('id') === id;
}
