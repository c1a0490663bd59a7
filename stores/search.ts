import { Client, errors } from '@opensearch-project/opensearch';
import type { Config } from '../lib/config';
import MAPPING from './search-mapping.v1.json';
import type { PostDoc, UserDoc } from './write-model';

/**
 * The post search index in OpenSearch: documents, versioned writes, and the alias that readers and writers share.
 * This module and ./search-query are the only code that speaks OpenSearch.
 *
 * Ordering: every write carries an external version, `post version × VERSION_SPAN + author profile version`, so
 * OpenSearch keeps the newest and refuses older ones (a 409 that counts as done): an old edit never overwrites a newer
 * one, a rename re-index never brings back old content, and a late index never undoes a delete, because a delete
 * is written as a tombstone document (`deleted: true`, no content) at the delete's version rather than removed.
 */

export const MAPPING_VERSION: number = MAPPING.version;
/** Profile versions below this order renames within one post version. */
export const VERSION_SPAN = 1_000_000;

export interface SearchDoc {
  postId: string;
  authorId: string;
  authorName: string;
  authorVersion: number;
  createdAt: string;
  type: string;
  visibility: string;
  mediaCount: number;
  content: string;
  version: number;
  deleted: boolean;
}

/** What the index holds for a post, as the checks compare it. */
export interface IndexedVersion {
  version: number;
  authorVersion: number;
  deleted: boolean;
}

export const externalVersion = (d: Pick<SearchDoc, 'version' | 'authorVersion'>): number =>
  d.version * VERSION_SPAN + Math.min(d.authorVersion, VERSION_SPAN - 1);

/** The document for a post as the write model has it now; a deleted post becomes its tombstone. */
export function searchDocOf(post: PostDoc, author: Pick<UserDoc, 'displayName' | 'version'> | null): SearchDoc {
  const base = {
    postId: post._id,
    authorId: post.authorId,
    authorName: author?.displayName ?? '',
    authorVersion: author?.version ?? 0,
    createdAt: post.createdAt.toISOString(),
    type: post.type,
    visibility: post.visibility,
    version: post.version,
  };
  if (post.deleted) return { ...base, authorName: '', mediaCount: 0, content: '', deleted: true };
  return { ...base, mediaCount: post.mediaUrls.length, content: post.content, deleted: false };
}

export function connectSearch(config: Pick<Config, 'SEARCH_URL' | 'SEARCH_TIMEOUT_MS'>): Client {
  // No client-side retries: the pipeline retries through Temporal, and SearchPosts answers UNAVAILABLE at once.
  return new Client({ node: config.SEARCH_URL, requestTimeout: config.SEARCH_TIMEOUT_MS, maxRetries: 0 });
}

/** The server is down, unreachable or overloaded (as opposed to refusing the request itself). */
export function isSearchUnavailable(err: unknown): boolean {
  if (err instanceof errors.ResponseError) return err.statusCode === undefined || err.statusCode >= 500;
  return (
    err instanceof errors.ConnectionError ||
    err instanceof errors.TimeoutError ||
    err instanceof errors.NoLivingConnectionsError
  );
}

const status = (err: unknown): number | undefined => (err instanceof errors.ResponseError ? err.statusCode : undefined);
const exists = (e: unknown) => status(e) === 400 && /resource_already_exists/.test(String(e));

/** The indices an alias names; none when it does not exist. */
async function aliasIndices(client: Client, name: string): Promise<string[]> {
  try {
    const res = await client.indices.getAlias({ name });
    return Object.keys(res.body as object);
  } catch (err) {
    if (status(err) === 404) return [];
    throw err;
  }
}

/** Creates an index with the mapping under these aliases, unless it exists. */
async function createAliasedIndex(client: Client, index: string, aliases: string[]): Promise<void> {
  const { version: _v, ...body } = MAPPING;
  void _v;
  try {
    await client.indices.create({
      index,
      body: { ...body, aliases: Object.fromEntries(aliases.map((a) => [a, {}])) } as never,
    });
  } catch (err) {
    if (!exists(err)) throw err;
  }
}

/** A bulk write's outcome: new documents, documents older than the index's (409), or the first failure. */
function tallyBulk(items: Array<Record<string, unknown>>): { written: number; stale: number } {
  let written = 0;
  let stale = 0;
  const failures: string[] = [];
  for (const item of items) {
    const r = Object.values(item)[0] as { status: number; error?: { type?: string; reason?: string } };
    if (r.status === 409) stale++;
    else if (r.status < 300) written++;
    else failures.push(`${r.status} ${r.error?.type ?? ''}: ${r.error?.reason ?? ''}`);
  }
  if (failures.length) throw new Error(`search bulk write failed for ${failures.length} items: ${failures[0]}`);
  return { written, stale };
}

async function finishRebuild(client: Client, alias: string, next: string, index: string): Promise<string[]> {
  const live = await aliasIndices(client, alias);
  const old = live.filter((i) => i !== index);
  const building = (await aliasIndices(client, next)).includes(index);
  await client.indices.refresh({ index } as never);
  // Built from the current state, so a retry after a partial finish does only what is left.
  const actions = [
    ...old.map((i) => ({ remove: { index: i, alias } })),
    ...(live.includes(index) ? [] : [{ add: { index, alias } }]),
    ...(building ? [{ remove: { index, alias: next } }] : []),
  ];
  if (actions.length) await client.indices.updateAliases({ body: { actions } } as never);
  if (old.length) await client.indices.delete({ index: old.join(','), ignore_unavailable: true } as never);
  return old;
}

/** The search index behind its alias: live writes, the checks' reads, and the rebuild's alias swap. */
export interface SearchIndex {
  readonly alias: string;
  /** Creates the first index and its alias unless the alias exists. Idempotent and safe to race. */
  ensure(): Promise<void>;
  /** Writes documents to every live index; returns how many were new and how many were older than the index's. */
  write(docs: SearchDoc[], only?: string): Promise<{ written: number; stale: number }>;
  /** The indexed versions of the given posts (tombstones included), from the live alias. */
  versions(postIds: string[]): Promise<Map<string, IndexedVersion>>;
  /** Up to `n` live documents picked at random, for the checks. */
  sample(n: number, seed: number): Promise<string[]>;
  /** Makes every write so far searchable (tests, benchmarks, the end of a rebuild). */
  refresh(): Promise<void>;
  /** Starts a rebuild: a new, empty index that live writes reach through the `-next` alias. */
  beginRebuild(stamp: string): Promise<string>;
  /** Points the alias at the rebuilt index in one atomic step, then drops the indices it replaced. */
  finishRebuild(index: string): Promise<string[]>;
  /** The indices the alias reads, and the one a rebuild is filling (if any). */
  describe(): Promise<{ live: string[]; building: string[] }>;
  count(index?: string): Promise<number>;
}

/**
 * The index behind one alias. Readers use the alias; writers write to every index the alias or its `-next` alias
 * names, so a rebuild's new index receives live writes while it is filled.
 */
export function createSearchIndex(client: Client, alias: string): SearchIndex {
  const next = `${alias}-next`;
  const newIndexName = (stamp: string) => `${alias}-m${MAPPING_VERSION}-${stamp}`;

  const indicesOf = (name: string): Promise<string[]> => aliasIndices(client, name);
  const createIndex = (index: string, aliases: string[]): Promise<void> => createAliasedIndex(client, index, aliases);

  return {
    alias,

    async ensure(): Promise<void> {
      if ((await indicesOf(alias)).length) return;
      await createIndex(newIndexName('0'), [alias]);
    },

    async write(docs: SearchDoc[], only?: string): Promise<{ written: number; stale: number }> {
      if (!docs.length) return { written: 0, stale: 0 };
      let targets = only ? [only] : [...new Set([...(await indicesOf(alias)), ...(await indicesOf(next))])];
      if (!targets.length) {
        await this.ensure();
        targets = await indicesOf(alias);
      }
      const body = targets.flatMap((index) =>
        docs.flatMap((d) => [
          { index: { _index: index, _id: d.postId, version: externalVersion(d), version_type: 'external' } },
          d,
        ]),
      );
      const res = await client.bulk({ body });
      return tallyBulk(res.body.items);
    },

    async versions(postIds: string[]): Promise<Map<string, IndexedVersion>> {
      const out = new Map<string, IndexedVersion>();
      if (!postIds.length) return out;
      const res = await client.mget({
        index: alias,
        body: { ids: postIds },
        _source_includes: ['version', 'authorVersion', 'deleted'],
      } as never);
      for (const d of (res.body as { docs: Array<{ _id: string; found?: boolean; _source?: IndexedVersion }> }).docs) {
        if (d.found && d._source) out.set(d._id, d._source);
      }
      return out;
    },

    async sample(n: number, seed: number): Promise<string[]> {
      const res = await client.search({
        index: alias,
        body: {
          size: n,
          _source: false,
          query: {
            function_score: {
              query: { term: { deleted: false } },
              random_score: { seed, field: '_seq_no' },
            },
          },
        } as never,
      });
      return (res.body.hits.hits as Array<{ _id: string }>).map((h) => h._id);
    },

    async refresh(): Promise<void> {
      await client.indices.refresh({ index: [alias, next].join(','), ignore_unavailable: true } as never);
    },

    async beginRebuild(stamp: string): Promise<string> {
      const index = newIndexName(stamp);
      await createIndex(index, [next]);
      return index;
    },

    async finishRebuild(index: string): Promise<string[]> {
      return finishRebuild(client, alias, next, index);
    },

    async describe(): Promise<{ live: string[]; building: string[] }> {
      return { live: await indicesOf(alias), building: await indicesOf(next) };
    },

    async count(index = alias): Promise<number> {
      const res = await client.count({ index } as never);
      return (res.body as { count: number }).count;
    },
  };
}
