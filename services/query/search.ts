import { createHash } from 'node:crypto';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import type { Client } from '@opensearch-project/opensearch';
import { LRUCache } from 'lru-cache';
import type { Db } from 'mongodb';
import { DomainError, invalid } from '../../domain/errors';
import { requireId } from '../../domain/ids';
import { mayRead } from '../../domain/visibility';
import { PostType } from '../../gen/feedflow/v1/common_pb';
import {
  type Post,
  SearchSort,
  type SearchPostsRequest,
  type SearchPostsResponseSchema,
} from '../../gen/feedflow/v1/feed_pb';
import type { IdLookup } from '../../stores/lookup';
import { viewerRelations } from '../../stores/relations';
import { isSearchUnavailable } from '../../stores/search';
import { type PostHit, type PostQuery, searchPostIndex } from '../../stores/search-query';
import { type PostDoc, type UserDoc, writeModel } from '../../stores/write-model';
import type { CursorCodec } from './cursor';
import type { FeedEntryData } from './entries';
import { fromPost, type ItemSource } from './items';

/**
 * SearchPosts: OpenSearch finds candidate posts within the viewer's audience, then every hit is re-checked under the
 * one visibility rule (`mayRead`) against the write model read for this call (the posts, and every relationship of
 * the viewer), and served from the write model, so a delete, an edit or a block wins at once, whatever the index
 * still holds.
 */

export interface SearchPostsDeps {
  db: Db;
  lookup: IdLookup;
  client: Client;
  alias: string;
  items: ItemSource;
  cursors: CursorCodec;
  maxQueryChars: number;
}

/** What the feed service lends: its member check and its one Post mapping. */
export interface SearchHelpers {
  requireMember(id: string, field: string): Promise<void>;
  toPost(d: FeedEntryData, withEngagement: boolean): Post;
}

const TYPES: Partial<Record<PostType, string>> = {
  [PostType.TEXT]: 'text',
  [PostType.IMAGE]: 'image',
  [PostType.VIDEO]: 'video',
  [PostType.ARTICLE]: 'article',
};
const MAX_TERMS = 32;
/**
 * Authors' profiles are kept this long: a hit's author may trail a profile change by as much, as a GetFeed item's
 * snapshot does. Posts and relationships are never cached: deletes and blocks win at once.
 */
const AUTHOR_TTL_MS = 10_000;
const MAX_ROUNDS = 5;

/** The query text, checked: bounded, printable, and with something to search for. */
export function queryTextOf(raw: string, maxChars: number): string {
  const text = raw.trim();
  if (!text) throw invalid('query is required', 'INVALID_QUERY');
  if ([...text].length > maxChars) throw invalid(`query must be at most ${maxChars} characters`, 'INVALID_QUERY');
  if (/\p{Cc}/u.test(text.replace(/[\t\n]/g, ' '))) throw invalid('query has control characters', 'INVALID_QUERY');
  if (!/[\p{L}\p{N}]/u.test(text)) throw invalid('query has no words to search for', 'INVALID_QUERY');
  if (text.split(/\s+/).length > MAX_TERMS) throw invalid(`query has more than ${MAX_TERMS} terms`, 'INVALID_QUERY');
  return text;
}

function pageSizeOf(n: number): number {
  if (n === 0) return 20;
  if (n > 50) throw invalid(`page_size must be between 1 and 50, got ${n}`, 'INVALID_PAGE_SIZE');
  return n;
}

/** Authors by id, from a process-wide cache of AUTHOR_TTL_MS, the rest from the user store. */
function createAuthorCache(items: SearchPostsDeps['items']): (ids: string[]) => Promise<Map<string, UserDoc>> {
  const authorCache = new LRUCache<string, UserDoc>({ max: 10_000, ttl: AUTHOR_TTL_MS });
  return async function authorsOf(ids: string[]): Promise<Map<string, UserDoc>> {
    const out = new Map<string, UserDoc>();
    const missing = ids.filter((id) => {
      const u = authorCache.get(id);
      if (u) out.set(id, u);
      return !u;
    });
    for (const [id, u] of await items.users(missing)) {
      authorCache.set(id, u);
      out.set(id, u);
    }
    return out;
  };
}

/** The request's page size, query text, post type and time range, each checked. */
function searchParamsOf(
  req: SearchPostsRequest,
  maxQueryChars: number,
): { size: number; text: string; type?: string; createdAfter?: Date; createdBefore?: Date } {
  const size = pageSizeOf(req.pageSize);
  const text = queryTextOf(req.query, maxQueryChars);
  if (req.sort !== SearchSort.UNSPECIFIED && !(req.sort in SearchSort)) {
    throw invalid(`unknown sort ${req.sort}`, 'INVALID_SORT');
  }
  const type = req.postType === PostType.UNSPECIFIED ? undefined : TYPES[req.postType];
  if (req.postType !== PostType.UNSPECIFIED && !type) throw invalid(`unknown post_type ${req.postType}`);
  const createdAfter = req.createdAfter ? timestampDate(req.createdAfter) : undefined;
  const createdBefore = req.createdBefore ? timestampDate(req.createdBefore) : undefined;
  if (createdAfter && createdBefore && createdAfter >= createdBefore) {
    throw invalid('created_after must be before created_before', 'INVALID_TIME_RANGE');
  }
  return { size, text, type, createdAfter, createdBefore };
}

/** Where a search cursor resumes: the sort values of the last hit it served. */
function searchAfterOf(cursors: CursorCodec, cursor: string, owner: string): PostQuery['after'] {
  const c = cursors.search.decode(cursor, owner);
  let after: PostQuery['after'];
  try {
    after = JSON.parse(c.a) as PostQuery['after'];
  } catch {
    after = undefined;
  }
  if (!Array.isArray(after)) throw invalid('cursor is invalid: not a search cursor', 'INVALID_CURSOR');
  return after;
}

/** SearchPosts for one request: a page of hits the viewer may read, and the cursor to the next page. */
export type SearchPosts = (
  req: SearchPostsRequest,
  h: SearchHelpers,
) => Promise<MessageInitShape<typeof SearchPostsResponseSchema>>;

export function createSearchPosts(deps: SearchPostsDeps): SearchPosts {
  const wm = writeModel(deps.db);
  const authorsOf = createAuthorCache(deps.items);

  async function query(q: PostQuery): Promise<PostHit[]> {
    try {
      return await searchPostIndex(deps.client, deps.alias, q);
    } catch (err) {
      if (isSearchUnavailable(err)) {
        throw new DomainError('unavailable', 'search is unavailable right now; feeds are not affected, retry later');
      }
      throw err;
    }
  }

  return async function searchPosts(req: SearchPostsRequest, h: SearchHelpers) {
    const { size, text, type, createdAfter, createdBefore } = searchParamsOf(req, deps.maxQueryChars);
    await h.requireMember(req.viewerId, 'viewer_id');
    if (req.authorId) {
      requireId(req.authorId, 'author_id');
      await h.requireMember(req.authorId, 'author_id');
    }
    const sort = req.sort === SearchSort.NEWEST ? 'newest' : 'relevance';
    const shape = JSON.stringify([text, req.authorId, type, createdAfter, createdBefore, sort]);
    const owner = `search>${req.viewerId}>${createHash('sha256').update(shape).digest('base64url').slice(0, 16)}`;
    let after = req.cursor ? searchAfterOf(deps.cursors, req.cursor, owner) : undefined;

    const relations = await viewerRelations(wm, deps.lookup, req.viewerId);
    const rel = { connections: new Set(relations.connected), blocked: new Set(relations.blocked) };
    const audience = { connections: [...rel.connections], blocked: [...rel.blocked] };
    const hits: Array<{ post: Post; snippet: string; score: number }> = [];
    let more = true;
    for (let round = 0; round < MAX_ROUNDS && hits.length < size && more; round++) {
      const want = size - hits.length + 2;
      const found = await query({
        viewerId: req.viewerId,
        text,
        ...audience,
        ...(req.authorId ? { authorId: req.authorId } : {}),
        ...(type ? { type } : {}),
        ...(createdAfter ? { createdAfter } : {}),
        ...(createdBefore ? { createdBefore } : {}),
        sort,
        size: want,
        ...(after ? { after } : {}),
      });
      more = found.length === want;
      if (!found.length) break;
      const posts = await deps.lookup.byIds(
        wm.posts,
        found.map((f) => f.postId),
      );
      const byId = new Map<string, PostDoc>();
      for (const p of posts) {
        const r = { blocked: rel.blocked.has(p.authorId), connected: rel.connections.has(p.authorId) };
        if (!p.deleted && mayRead(req.viewerId, p, r)) byId.set(p._id, p);
      }
      const authors = await authorsOf([...new Set([...byId.values()].map((p) => p.authorId))]);
      for (const f of found) {
        after = f.sort;
        const p = byId.get(f.postId);
        if (p) {
          hits.push({
            post: h.toPost(fromPost(p, authors.get(p.authorId), 'own'), false),
            snippet: f.snippet,
            score: f.score,
          });
        }
        if (hits.length === size) {
          more = more || f !== found[found.length - 1];
          break;
        }
      }
    }
    const nextCursor =
      more && after && hits.length === size ? deps.cursors.search.encode(owner, { a: JSON.stringify(after) }) : '';
    return { hits, nextCursor };
  };
}
