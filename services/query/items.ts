import type { Db } from 'mongodb';
import { feedItemId } from '../../domain/ids';
import { type FeedReason, scoringReasonOf } from '../../domain/reasons';
import { provisionalScore } from '../../ranking/provisional';
import type { IdLookup } from '../../stores/lookup';
import { type FeedItemDoc, NEUTRAL_SCORE, readModel } from '../../stores/read-model';
import type { PostDoc, UserDoc } from '../../stores/write-model';
import { newestFirst, writeModel } from '../../stores/write-model';
import type { FeedEntryData, WindowEntry } from './entries';

/**
 * The query side's view of a feed item, whichever store it came from: the pushed read model (`feed_items`) and
 * the post store, read through the stores' own document types.
 */

/** A recency keyset: items strictly older than (createdAt, postId). */
export interface Keyset {
  createdAt: number;
  postId: string;
}

const zero = { likes: 0, comments: 0, shares: 0, views: 0 };

/** A pushed feed item in the query side's shape. */
export function fromPushed(d: FeedItemDoc, viewerId: string): FeedEntryData {
  const authorId = d.actor?.id ?? '';
  return {
    postId: d.postId,
    version: d.version,
    authorId,
    authorName: d.actor?.name ?? '',
    authorHeadline: d.actor?.headline ?? '',
    authorImageUrl: d.actor?.imageUrl ?? '',
    authorVersion: d.actor?.version ?? 0,
    content: d.content ?? '',
    type: d.type ?? 'text',
    mediaUrls: d.mediaUrls ?? [],
    visibility: d.visibility ?? 'public',
    createdAt: d.createdAt.getTime(),
    score: typeof d.score === 'number' && Number.isFinite(d.score) ? d.score : NEUTRAL_SCORE,
    modelVersion: d.modelVersion ?? '',
    reason:
      authorId === viewerId
        ? 'own'
        : d.reason === 'follow'
          ? 'follow'
          : d.reason === 'backfill'
            ? 'backfill'
            : 'connection',
    // Counts come per page from the cache or the post summaries, never from the item.
    engagement: { ...zero },
    source: 'feed',
  };
}

/** The author's card on an entry. */
export type AuthorCard = Pick<FeedEntryData, 'authorName' | 'authorHeadline' | 'authorImageUrl' | 'authorVersion'>;

/** A member's card from the user store; a member not found reads as blank, at version 0. */
export function authorCardOf(u: UserDoc | null | undefined): AuthorCard {
  return {
    authorName: u?.displayName ?? '',
    authorHeadline: u?.headline ?? '',
    authorImageUrl: u?.imageUrl ?? '',
    authorVersion: u?.version ?? 0,
  };
}

/** A post from the write model in the query side's shape. */
export function fromPost(
  p: PostDoc,
  author: UserDoc | null | undefined,
  reason: FeedReason,
  engagement: FeedEntryData['engagement'] = zero,
): FeedEntryData {
  return {
    postId: p._id,
    version: p.version,
    authorId: p.authorId,
    ...authorCardOf(author),
    content: p.content,
    type: p.type,
    mediaUrls: p.mediaUrls,
    visibility: p.visibility,
    createdAt: p.createdAt.getTime(),
    // Not pushed, so never scored by the model: the provisional rate of the relationship, on the model's scale.
    score: provisionalScore(scoringReasonOf(reason)),
    modelVersion: '',
    reason,
    engagement: { ...engagement },
    source: 'post',
  };
}

/** The filter for "strictly older than the keyset", on a collection whose post id is `idField`. */
export const olderThan = (k: Keyset | undefined, idField: 'postId' | '_id' = 'postId') =>
  k
    ? {
        $or: [
          { createdAt: { $lt: new Date(k.createdAt) } },
          { createdAt: new Date(k.createdAt), [idField]: { $lt: k.postId } },
        ],
      }
    : {};

/** Feed entries from the read model and the post store, by the reads GetFeed makes. */
export interface ItemSource {
  /** Members by id; an unknown id is absent from the map. */
  users(ids: string[]): Promise<Map<string, UserDoc>>;
  /** The viewer's pushed items, newest first, created at or before `until`, older than the keyset. */
  pushed(viewerId: string, until: number, limit: number, after?: Keyset): Promise<FeedEntryData[]>;
  /** Public, live posts by these authors from the post store, newest first (pull authors, or past the cap). */
  fromAuthors(
    authorIds: string[],
    visibilities: string[],
    until: number,
    since: number,
    limit: number,
    reason: FeedReason,
    after?: Keyset,
  ): Promise<FeedEntryData[]>;
  /** Full data for window entries, in the given order; entries whose data is gone are left out. */
  hydrate(viewerId: string, entries: WindowEntry[]): Promise<FeedEntryData[]>;
  /** Engagement counters per post, from the post summaries the engagement projection keeps. */
  engagement(postIds: string[]): Promise<Map<string, { counts: FeedEntryData['engagement']; total: number }>>;
  /** How many items the viewer's pushed feed holds (to tell a trimmed history from a short one). */
  pushedCount(viewerId: string): Promise<number>;
}

export function createItemSource(db: Db, lookup: IdLookup): ItemSource {
  const rm = readModel(db);
  const feed = rm.feedItems;
  const wm = writeModel(db);
  const usersById = async (ids: string[]): Promise<Map<string, UserDoc>> => {
    const users = await lookup.byIds(wm.users, ids);
    return new Map(users.map((u) => [u._id, u]));
  };

  return {
    users: usersById,

    async pushed(viewerId: string, until: number, limit: number, after?: Keyset): Promise<FeedEntryData[]> {
      const docs = await feed
        .find({ viewerId, createdAt: { $lte: new Date(until) }, ...olderThan(after) })
        .sort({ createdAt: -1, postId: -1 })
        .limit(limit)
        .toArray();
      return docs.map((d) => fromPushed(d, viewerId));
    },

    // Parameter types come from ItemSource.fromAuthors.
    async fromAuthors(authorIds, visibilities, until, since, limit, reason, after): Promise<FeedEntryData[]> {
      if (!authorIds.length) return [];
      const posts = (
        await lookup.byValues(
          wm.posts,
          'authorId',
          authorIds,
          {
            deleted: false,
            visibility: { $in: visibilities as PostDoc['visibility'][] },
            createdAt: { $lte: new Date(until), $gte: new Date(since) },
            ...olderThan(after, '_id'),
          },
          { sort: { createdAt: -1, _id: -1 }, limit },
        )
      )
        .sort(newestFirst)
        .slice(0, limit);
      const authors = await usersById(posts.map((p) => p.authorId));
      return posts.map((p) => fromPost(p, authors.get(p.authorId), reason));
    },

    async hydrate(viewerId: string, entries: WindowEntry[]): Promise<FeedEntryData[]> {
      const pushedIds = entries.filter((e) => e.source === 'feed').map((e) => feedItemId(viewerId, e.postId));
      const postIds = entries.filter((e) => e.source === 'post').map((e) => e.postId);
      const [pushed, posts] = await Promise.all([lookup.byIds(feed, pushedIds), lookup.byIds(wm.posts, postIds)]);
      const authors = await usersById(posts.map((p) => p.authorId));
      const byId = new Map<string, FeedEntryData>();
      for (const d of pushed) byId.set(d.postId, fromPushed(d, viewerId));
      for (const p of posts)
        if (!byId.has(p._id)) byId.set(p._id, fromPost(p, authors.get(p.authorId), 'popular_author'));
      const out: FeedEntryData[] = [];
      for (const e of entries) {
        const d = byId.get(e.postId);
        if (d) out.push({ ...d, reason: e.reason, score: d.score });
      }
      return out;
    },

    async engagement(postIds: string[]): Promise<Map<string, { counts: FeedEntryData['engagement']; total: number }>> {
      const docs = await lookup.byIds(rm.postSummaries, postIds, { engagement: 1, engagementTotal: 1 });
      return new Map(docs.map((d) => [d._id, { counts: { ...zero, ...d.engagement }, total: d.engagementTotal ?? 0 }]));
    },

    async pushedCount(viewerId: string): Promise<number> {
      return feed.countDocuments({ viewerId });
    },
  };
}
