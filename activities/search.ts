import type { Db } from 'mongodb';
import type { Logger } from '../lib/logger';
import type {
  AuthorPageInput,
  AuthorPageResult,
  IndexResult,
  ReindexPageInput,
  SearchCheckInput,
  SearchCheckResult,
  SearchFindingKind,
} from '../pipeline/contracts/search';
import { externalVersion, type SearchDoc, type SearchIndex, searchDocOf } from '../stores/search';
import { type PostDoc, type UserDoc, writeModel, type WriteModel } from '../stores/write-model';
import { heartbeat } from './heartbeat';

export interface SearchDeps {
  db: Db;
  search: SearchIndex;
  logger: Logger;
}

type Author = Pick<UserDoc, '_id' | 'displayName' | 'version'>;

/** The write model's posts and authors as the index wants them. */
function createPostReads(wm: WriteModel) {
  // Equality reads by id, in parallel: FerretDB serves each from an index but would scan for an `$in`.
  const postsByIds = async (ids: string[]): Promise<PostDoc[]> =>
    (await Promise.all([...new Set(ids)].map((id) => wm.posts.findOne({ _id: id })))).filter((p): p is PostDoc => !!p);
  const authorsOf = async (posts: PostDoc[]): Promise<Map<string, Author>> => {
    const ids = [...new Set(posts.map((p) => p.authorId))];
    const found = await Promise.all(
      ids.map((id) => wm.users.findOne({ _id: id }, { projection: { displayName: 1, version: 1 } })),
    );
    const out = new Map<string, Author>();
    for (const u of found) if (u) out.set(u._id, u);
    return out;
  };
  const docsOf = async (posts: PostDoc[]): Promise<SearchDoc[]> => {
    const authors = await authorsOf(posts);
    return posts.map((p) => searchDocOf(p, authors.get(p.authorId) ?? null));
  };
  return { postsByIds, authorsOf, docsOf };
}

/** The activities of createSearchActivities, as workflows proxy them. */
export interface SearchActivities {
  indexPosts(input: { postIds: string[] }): Promise<IndexResult>;
  indexAuthorPage(input: AuthorPageInput): Promise<AuthorPageResult>;
  beginSearchRebuild(input: { stamp: string }): Promise<{ index: string; total: number }>;
  rebuildSearchPage(input: ReindexPageInput): Promise<AuthorPageResult>;
  finishSearchRebuild(input: { index: string }): Promise<{ replaced: string[] }>;
  checkSearchIndex(input: SearchCheckInput): Promise<SearchCheckResult>;
}

/**
 * The search index's side of the pipeline. Every write re-reads the post and its author from the write model and
 * writes what is true now at its version (see stores/search.ts), so any retry, replay or repair is idempotent and
 * order does not matter. OpenSearch being down is a plain error: Temporal retries until it is back.
 */
export function createSearchActivities({ db, search, logger }: SearchDeps): SearchActivities {
  const wm = writeModel(db);

  const { postsByIds, authorsOf, docsOf } = createPostReads(wm);

  /** Re-indexes the given posts as the write model has them (missing ones are skipped) into the live index. */
  async function indexPosts(input: { postIds: string[] }): Promise<IndexResult> {
    const posts = await postsByIds(input.postIds);
    return search.write(await docsOf(posts));
  }

  return {
    indexPosts,

    /** One page of an author's posts (deleted ones included, as tombstones), in id order: a rename's re-index. */
    async indexAuthorPage(input: AuthorPageInput): Promise<AuthorPageResult> {
      const posts = await wm.posts
        .find({ authorId: input.authorId, ...(input.after ? { _id: { $gt: input.after } } : {}) })
        .sort({ _id: 1 })
        .limit(input.limit)
        .toArray();
      const res = await search.write(await docsOf(posts));
      const next = posts.length === input.limit ? posts[posts.length - 1]._id : null;
      return { ...res, next };
    },

    /** Creates the rebuild's index (live writes reach it from now on) and counts the posts to copy. */
    async beginSearchRebuild(input: { stamp: string }): Promise<{ index: string; total: number }> {
      const index = await search.beginRebuild(input.stamp);
      const total = await wm.posts.countDocuments({});
      logger.info({ index, total }, 'search rebuild started');
      return { index, total };
    },

    /** Copies one page of posts, in id order, into the rebuild's index; heartbeats so a stuck page is retried. */
    async rebuildSearchPage(input: ReindexPageInput): Promise<AuthorPageResult> {
      heartbeat(input.after);
      const posts = await wm.posts
        .find(input.after ? { _id: { $gt: input.after } } : {})
        .sort({ _id: 1 })
        .limit(input.limit)
        .toArray();
      const res = await search.write(await docsOf(posts), input.index);
      const next = posts.length === input.limit ? posts[posts.length - 1]._id : null;
      return { ...res, next };
    },

    /** Swaps the alias to the rebuilt index and drops the ones it replaced. */
    async finishSearchRebuild(input: { index: string }): Promise<{ replaced: string[] }> {
      const replaced = await search.finishRebuild(input.index);
      logger.info({ index: input.index, replaced }, 'search rebuild swapped the alias');
      return { replaced };
    },

    /**
     * The search check: the posts of the window's events and a random sample of live documents, against the write
     * model. A post not indexed, indexed at an older version, or live in the index though deleted is re-indexed.
     */
    async checkSearchIndex(input: SearchCheckInput): Promise<SearchCheckResult> {
      const since = new Date(Date.now() - input.windowMs);
      const events = await wm.events
        .find({ at: { $gte: since }, aggregateType: 'post' }, { projection: { aggregateId: 1 } })
        .toArray();
      const sampled = await search.sample(input.sample, Date.now() % 1_000_000);
      const ids = [...new Set([...events.map((e) => e.aggregateId), ...sampled])];
      const posts = await postsByIds(ids);
      const [indexed, authors] = await Promise.all([search.versions(posts.map((p) => p._id)), authorsOf(posts)]);
      const found: SearchCheckResult['found'] = { search_missing: 0, search_stale: 0, search_deleted: 0 };
      const samples: SearchCheckResult['samples'] = [];
      const repair: PostDoc[] = [];
      for (const p of posts) {
        const doc = indexed.get(p._id);
        const author = authors.get(p.authorId);
        const want = externalVersion({ version: p.version, authorVersion: author?.version ?? 0 });
        let kind: SearchFindingKind | undefined;
        if (!doc) kind = p.deleted ? undefined : 'search_missing';
        else if (p.deleted && !doc.deleted) kind = 'search_deleted';
        else if (externalVersion(doc) < want) kind = 'search_stale';
        if (!kind) continue;
        found[kind]++;
        if (samples.length < 50) samples.push({ kind, postId: p._id });
        repair.push(p);
      }
      await search.write(await docsOf(repair));
      if (repair.length) logger.warn({ found, repaired: repair.length }, 'search check repaired the index');
      return { postsChecked: posts.length, found, repaired: repair.length, samples };
    },
  };
}
