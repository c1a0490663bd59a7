import type { ReplayProjection } from '../pipeline/contracts/operations';
import type { PostDeleteResult, PostUpdateResult, ProjectionInput } from '../pipeline/contracts/projection';
import { invalidateFeeds } from '../stores/feed-cache';
import { deletePostItems, updatePostItems } from '../stores/feed-items';
import { tombstonePost, upsertPostSummary } from '../stores/post-summaries';
import { requirePost } from '../stores/projection-sources';
import { readModel } from '../stores/read-model';
import { writeModel } from '../stores/write-model';
import type { ProjectionDeps } from './deps';
import { whileHeartbeating } from './heartbeat';

/** The activities of createPostActivities, as workflows proxy them. */
export interface PostActivities {
  replayInput(postId: string): Promise<ReplayProjection | null>;
  applyPostUpdate(input: ProjectionInput): Promise<PostUpdateResult>;
  markPostDeleted(input: ProjectionInput): Promise<void>;
  purgePost(input: ProjectionInput): Promise<PostDeleteResult>;
}

/** Post updated and post deleted: propagate a new version to existing items, or tombstone and purge. */
export function createPostActivities({ db }: ProjectionDeps): PostActivities {
  const wm = writeModel(db);
  const rm = readModel(db);

  return {
    /**
     * What a replay of the post's fan-out projects: its creation event's input at the post's current version, so the
     * fan-out writes the latest content with the original acceptance time. Null for an unknown post.
     */
    async replayInput(postId: string): Promise<ReplayProjection | null> {
      const post = await wm.posts.findOne({ _id: postId });
      if (!post) return null;
      const created = await wm.events.findOne({ aggregateId: postId, type: 'PostCreated' });
      const input: ProjectionInput = {
        eventId: created?._id ?? `post/${postId}/replay`,
        type: 'PostCreated',
        aggregateId: postId,
        version: post.version,
        acceptedAt: (created?.at ?? post.createdAt).toISOString(),
        actorId: post.authorId,
        postId,
      };
      return { input, version: post.version, deleted: post.deleted, actorId: post.authorId };
    },

    /** Moves every existing item of the post to the post's current version (never backwards). */
    async applyPostUpdate(input: ProjectionInput): Promise<PostUpdateResult> {
      const postId = input.postId ?? input.aggregateId;
      const post = await requirePost(wm, input, postId, input.version);
      // A deleted post is the delete projection's business; updating its items would only race the purge.
      if (post.deleted) return { postId, version: post.version, itemsUpdated: 0 };
      const { version, type, content, mediaUrls, visibility } = post;
      const itemsUpdated = await whileHeartbeating(
        updatePostItems(rm, postId, {
          version,
          type,
          content,
          mediaUrls: mediaUrls ?? [],
          visibility,
          acceptedAt: new Date(input.acceptedAt),
          projectedAt: new Date(),
        }),
      );
      await upsertPostSummary(rm, {
        _id: postId,
        authorId: post.authorId,
        version,
        visibility,
        createdAt: post.createdAt,
        deleted: false,
        audienceSize: (await rm.postSummaries.findOne({ _id: postId }))?.audienceSize ?? 0,
      });
      await invalidateFeeds(db, [], { postId: postId });
      return { postId, version, itemsUpdated };
    },

    /** The tombstone: the post's summary says deleted and cached pages holding it are dropped, before any purge. */
    async markPostDeleted(input: ProjectionInput): Promise<void> {
      const postId = input.postId ?? input.aggregateId;
      const post = await requirePost(wm, input, postId, input.version);
      await tombstonePost(rm, postId, post.authorId, post.version);
      await invalidateFeeds(db, [], { postId, deleted: true });
    },

    /** Removes the post from every feed. Safe to repeat; a late fan-out checks the tombstone and purges too. */
    async purgePost(input: ProjectionInput): Promise<PostDeleteResult> {
      const postId = input.postId ?? input.aggregateId;
      const itemsPurged = await whileHeartbeating(deletePostItems(rm, postId));
      await invalidateFeeds(db, [], { postId, deleted: true });
      return { postId, itemsPurged };
    },
  };
}
