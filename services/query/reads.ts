import type { Db } from 'mongodb';
import { type PostDoc, type UserDoc, writeModel } from '../../stores/write-model';
import type { FeedEntryData } from './entries';
import { type Keyset, olderThan } from './items';

export interface QueryReads {
  memberExists(id: string): Promise<boolean>;
  user(id: string): Promise<UserDoc | null>;
  post(id: string): Promise<PostDoc | null>;
  /** A post's engagement counted from the engagements themselves, not the projected counters. */
  postEngagement(postId: string): Promise<FeedEntryData['engagement']>;
  /** Up to `limit` of an author's live posts, newest first, older than the keyset. */
  authorPosts(authorId: string, limit: number, before?: Keyset): Promise<PostDoc[]>;
}

/**
 * The query service's reads outside the feed (members, one post, an author's posts). They go
 * to the write model, so a profile or a post is current right after the command that changed it.
 */
export function createQueryReads(db: Db): QueryReads {
  const wm = writeModel(db);
  return {
    async memberExists(id: string): Promise<boolean> {
      return !!(await wm.users.findOne({ _id: id }, { projection: { _id: 1 } }));
    },

    async user(id: string): Promise<UserDoc | null> {
      return wm.users.findOne({ _id: id });
    },

    async post(id: string): Promise<PostDoc | null> {
      return wm.posts.findOne({ _id: id });
    },

    async postEngagement(postId: string): Promise<FeedEntryData['engagement']> {
      const counts = await wm.engagements
        .aggregate<{ _id: string; n: number }>([{ $match: { postId } }, { $group: { _id: '$kind', n: { $sum: 1 } } }])
        .toArray();
      const n = (k: string) => counts.find((c) => c._id === k)?.n ?? 0;
      return { likes: n('like'), comments: n('comment'), shares: n('share'), views: n('view') };
    },

    async authorPosts(authorId: string, limit: number, before?: Keyset): Promise<PostDoc[]> {
      return wm.posts
        .find({ authorId, deleted: false, ...olderThan(before, '_id') })
        .sort({ createdAt: -1, _id: -1 })
        .limit(limit)
        .toArray();
    },
  };
}
