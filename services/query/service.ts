import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import type { ServiceImpl } from '@connectrpc/connect';
import { LRUCache } from 'lru-cache';
import type { Db } from 'mongodb';
import { invalid, notFound } from '../../domain/errors';
import { requireId } from '../../domain/ids';
import type { FeedReason as Reason } from '../../domain/reasons';
import { PostType, Visibility } from '../../gen/feedflow/v1/common_pb';
import {
  type ActorSchema,
  EngagementCountsSchema,
  FeedReason,
  type FeedService,
  FeedView,
  PostSchema,
  type Post,
} from '../../gen/feedflow/v1/feed_pb';
import type { Graph } from '../../stores/graph';
import type { ConsistencyWaiter } from './consistency';
import type { CursorCodec } from './cursor';
import type { FeedEntryData } from './entries';
import type { FeedReader, ServedItem } from './feed';
import { type AuthorCard, authorCardOf, fromPost, type ItemSource, type Keyset } from './items';
import { createQueryReads, type QueryReads } from './reads';
import type { SafetyNet } from './safety';
import type { SearchPosts } from './search';

const VISIBILITY: Record<string, Visibility> = {
  public: Visibility.PUBLIC,
  connections: Visibility.CONNECTIONS,
  private: Visibility.PRIVATE,
};
const POST_TYPE: Record<string, PostType> = {
  text: PostType.TEXT,
  image: PostType.IMAGE,
  video: PostType.VIDEO,
  article: PostType.ARTICLE,
};
const REASON: Record<Reason, FeedReason> = {
  connection: FeedReason.CONNECTION,
  follow: FeedReason.FOLLOW,
  second_degree: FeedReason.SECOND_DEGREE,
  backfill: FeedReason.BACKFILL,
  popular_author: FeedReason.POPULAR_AUTHOR,
  own: FeedReason.OWN_POST,
};

export interface QueryServiceDeps {
  db: Db;
  graph: Graph;
  reader: FeedReader;
  items: ItemSource;
  safety: SafetyNet;
  cursors: CursorCodec;
  consistency: ConsistencyWaiter;
  maxConsistencyWaitMs: number;
  /** SearchPosts over OpenSearch (services/query/search.ts). */
  search: SearchPosts;
}

function pageSizeOf(n: number): number {
  if (n === 0) return 20;
  if (n > 100) throw invalid(`page_size must be between 1 and 100, got ${n}`, 'INVALID_PAGE_SIZE');
  return n;
}

/** A member as the API shows one: a post's author, or a member of one's network. */
function toMember(userId: string, card: AuthorCard): MessageInitShape<typeof ActorSchema> {
  return {
    userId,
    displayName: card.authorName,
    headline: card.authorHeadline,
    profileImageUrl: card.authorImageUrl,
    version: card.authorVersion,
  };
}

export function toPost(d: FeedEntryData, withEngagement: boolean): Post {
  return create(PostSchema, {
    postId: d.postId,
    version: d.version,
    author: toMember(d.authorId, d),
    content: d.content,
    postType: POST_TYPE[d.type] ?? PostType.UNSPECIFIED,
    mediaUrls: d.mediaUrls,
    visibility: VISIBILITY[d.visibility] ?? Visibility.UNSPECIFIED,
    createdAt: timestampFromMs(d.createdAt),
    ...(withEngagement ? { engagement: create(EngagementCountsSchema, d.engagement) } : {}),
  });
}

type Impl = ServiceImpl<typeof FeedService>;

/** What the RPCs share: their dependencies, the query reads, and the membership check (remembered once true). */
interface FeedRpcContext {
  deps: QueryServiceDeps;
  reads: QueryReads;
  known: LRUCache<string, true>;
  requireMember: (id: string, field: string) => Promise<void>;
}

function feedRpcs({ deps, requireMember }: FeedRpcContext): Pick<Impl, 'getFeed'> {
  return {
    async getFeed(req, ctx) {
      const size = pageSizeOf(req.pageSize);
      const view = req.view === FeedView.UNSPECIFIED ? FeedView.V1_BASIC : req.view;
      if (!(view in FeedView)) throw invalid(`unknown view ${req.view}`, 'INVALID_VIEW');
      // Membership is checked by the reader, only when no cached state of the viewer proves it.
      requireId(req.viewerId, 'viewer_id');
      let stale = false;
      if (req.minConsistencyToken) {
        await requireMember(req.viewerId, 'viewer_id');
        const eventId = deps.consistency.parse(req.minConsistencyToken);
        const deadline = ctx.timeoutMs();
        const budget = Math.min(
          deps.maxConsistencyWaitMs,
          deadline === undefined ? Infinity : Math.max(0, deadline - 100),
        );
        stale = !(await deps.consistency.wait(req.viewerId, eventId, budget));
      }
      const withEngagement = view >= FeedView.V2_ENGAGEMENT;
      const page = await deps.reader.getFeed(req.viewerId, {
        pageSize: size,
        cursor: req.cursor,
        fresh: !!req.minConsistencyToken,
        discovery: !req.noDiscovery,
        engagement: withEngagement,
        requireMember: (id) => requireMember(id, 'viewer_id'),
      });
      const personalized = view >= FeedView.V3_PERSONALIZED;
      const items = page.items.map((i: ServedItem) => ({
        post: toPost(i, withEngagement),
        ...(personalized
          ? { score: i.score, modelVersion: i.modelVersion || 'neutral', rank: i.rank, reason: REASON[i.reason] }
          : {}),
      }));
      return {
        items,
        nextCursor: page.nextCursor,
        stale,
        ...(withEngagement
          ? {
              summary: {
                itemCount: items.length,
                distinctAuthors: new Set(page.items.map((i) => i.authorId)).size,
                totalLikes: BigInt(page.items.reduce((n, i) => n + i.engagement.likes, 0)),
                totalComments: BigInt(page.items.reduce((n, i) => n + i.engagement.comments, 0)),
              },
            }
          : {}),
      };
    },
  };
}

function postRpcs({ deps, reads, requireMember }: FeedRpcContext): Pick<Impl, 'getPost' | 'listPostsByAuthor'> {
  return {
    async getPost(req) {
      await requireMember(req.viewerId, 'viewer_id');
      requireId(req.postId, 'post_id');
      const post = await reads.post(req.postId);
      const visible =
        post &&
        (await deps.safety.allowed(req.viewerId, [{ postId: post._id, authorId: post.authorId }])).has(post._id);
      if (!post || !visible) throw notFound(`post "${req.postId}" not found`);
      const author = await reads.user(post.authorId);
      const engagement = await reads.postEngagement(post._id);
      return { post: toPost(fromPost(post, author, 'own', engagement), true) };
    },

    async listPostsByAuthor(req) {
      const size = pageSizeOf(req.pageSize);
      await requireMember(req.viewerId, 'viewer_id');
      await requireMember(req.authorId, 'author_id');
      const owner = `${req.viewerId}>${req.authorId}`;
      const after = req.cursor ? deps.cursors.authorPosts.decode(req.cursor, owner) : undefined;
      const out: Post[] = [];
      let k: Keyset | undefined = after ? { createdAt: after.k, postId: after.i } : undefined;
      const author = await reads.user(req.authorId);
      for (let round = 0; round < 10 && out.length < size; round++) {
        const posts = await reads.authorPosts(req.authorId, size - out.length + 5, k);
        if (!posts.length) {
          k = undefined;
          break;
        }
        const ok = await deps.safety.allowed(
          req.viewerId,
          posts.map((p) => ({ postId: p._id, authorId: p.authorId })),
        );
        for (const p of posts) {
          k = { createdAt: p.createdAt.getTime(), postId: p._id };
          if (!ok.has(p._id)) continue;
          out.push(toPost(fromPost(p, author, 'own'), false));
          if (out.length === size) break;
        }
      }
      const nextCursor =
        k && out.length === size ? deps.cursors.authorPosts.encode(owner, { k: k.createdAt, i: k.postId }) : '';
      return { posts: out, nextCursor };
    },
  };
}

function memberRpcs({
  deps,
  reads,
  known,
  requireMember,
}: FeedRpcContext): Omit<Impl, 'getFeed' | 'getPost' | 'listPostsByAuthor'> {
  return {
    async getNetwork(req) {
      if (req.degree !== 1 && req.degree !== 2) throw invalid('degree must be 1 or 2', 'INVALID_DEGREE');
      const size = pageSizeOf(req.pageSize);
      await requireMember(req.userId, 'user_id');
      const owner = `net>${req.userId}>${req.degree}`;
      const offset = req.cursor ? deps.cursors.network.decode(req.cursor, owner).p : 0;
      const all = (await deps.graph.network(req.userId, 1000)).filter((m) => m.degree <= req.degree);
      const slice = all.slice(offset, offset + size);
      const byId = await deps.items.users(slice.map((m) => m.id));
      const next = offset + size < all.length ? deps.cursors.network.encode(owner, { p: offset + size }) : '';
      return {
        members: slice.map((m) => ({
          member: toMember(m.id, authorCardOf(byId.get(m.id))),
          degree: m.degree,
          weight: m.weight,
          mutualConnections: m.degree === 2 ? m.mutual : 0,
        })),
        nextCursor: next,
      };
    },

    /** Posts matching the words that the viewer may see, re-checked at read time (services/query/search.ts). */
    async searchPosts(req) {
      return deps.search(req, { requireMember, toPost });
    },

    /** The member's profile and version from the write model, so it is current right after an UpdateProfile. */
    async getProfile(req) {
      requireId(req.userId, 'user_id');
      const user = await reads.user(req.userId);
      if (!user) throw notFound(`member "${req.userId}" not found`);
      known.set(user._id, true);
      return {
        profile: {
          userId: user._id,
          displayName: user.displayName,
          headline: user.headline,
          profileImageUrl: user.imageUrl,
          version: user.version,
        },
      };
    },
  };
}

/** feedflow.v1.FeedService: maps protobuf to the feed reader and back. */
export function createFeedService(deps: QueryServiceDeps): Impl {
  const reads = createQueryReads(deps.db);
  // Members are never deleted, so a positive answer can be remembered.
  const known = new LRUCache<string, true>({ max: 100_000, ttl: 10 * 60_000 });
  const requireMember = async (id: string, field: string): Promise<void> => {
    requireId(id, field);
    if (known.has(id)) return;
    if (await reads.memberExists(id)) known.set(id, true);
    else throw notFound(`${field.replace(/_id$/, '')} "${id}" not found`);
  };
  const context: FeedRpcContext = { deps, reads, known, requireMember };
  return { ...feedRpcs(context), ...postRpcs(context), ...memberRpcs(context) };
}
