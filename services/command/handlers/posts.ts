import { DomainError, invalid } from '../../../domain/errors';
import { requireId } from '../../../domain/ids';
import { VISIBILITIES, type Visibility } from '../../../domain/visibility';
import { POST_TYPES, type PostDoc, type PostType, type WriteModel } from '../../../stores/write-model';
import { type CommandHandler, type CommandResult, VersionConflict } from '../commit';
import {
  type CommandMeta,
  type HandlerDeps,
  hashId,
  loadUser,
  loadVisiblePost,
  randomId,
  staleVersion,
  withRetry,
} from './context';

export interface CreatePostCommand {
  authorId: string;
  content: string;
  visibility: Visibility | '';
  type: PostType | '';
  mediaUrls: string[];
}

export interface UpdatePostCommand {
  authorId: string;
  postId: string;
  content: string;
  /** 0: whatever the current version is. */
  expectedVersion: number;
}

export interface DeletePostCommand {
  authorId: string;
  postId: string;
  /** 0: whatever the current version is. */
  expectedVersion: number;
}

// Another member learns the post exists only if they could see it anyway.
async function ownPost(wm: WriteModel, authorId: string, postId: string): Promise<PostDoc> {
  const post = await loadVisiblePost(wm, authorId, postId);
  if (post.authorId !== authorId) {
    throw new DomainError('permission', `only the author may change post "${postId}"`, 'NOT_AUTHOR');
  }
  return post;
}

/**
 * Commits the next version of the author's post. At an expected version, a post that moved on is ABORTED with
 * its current version; at 0 (any version) a concurrent change is re-read and retried instead.
 */
async function commitNext(
  wm: WriteModel,
  first: PostDoc,
  cmd: { authorId: string; expectedVersion: number },
  commit: (post: PostDoc) => Promise<CommandResult>,
): Promise<CommandResult> {
  if (!cmd.expectedVersion) {
    let post: PostDoc | undefined = first;
    return withRetry(async () => {
      const current = post ?? (await ownPost(wm, cmd.authorId, first._id));
      post = undefined;
      return commit(current);
    });
  }
  if (first.version !== cmd.expectedVersion) throw staleVersion('post', cmd.expectedVersion, first.version);
  try {
    return await commit(first);
  } catch (err) {
    if (!(err instanceof VersionConflict)) throw err;
    throw staleVersion('post', cmd.expectedVersion, err.current?.aggregateVersion ?? first.version + 1);
  }
}

export interface PostHandlers {
  /**
   * Publishes a post. With a request id the post id derives from (author, request id), so concurrent retries
   * all land on one event and one workflow.
   */
  createPost: CommandHandler<CreatePostCommand>;
  /** Replaces the content of the author's own post, at the expected version (0: any). */
  updatePost: CommandHandler<UpdatePostCommand>;
  /** Deletes the author's own post at the expected version (0: any); the projection purges it everywhere. */
  deletePost: CommandHandler<DeletePostCommand>;
}

export function createPostHandlers({ wm, committer, moderator, limiter }: HandlerDeps): PostHandlers {
  const moderate = async (content: string, mediaUrls: string[]): Promise<void> => {
    const verdict = await moderator.check({ content, mediaUrls });
    if (!verdict.ok) throw invalid(verdict.message, verdict.reason);
  };
  /** Commits the author's change as the post's next version (see commitNext). */
  const commitPostChange = (
    meta: CommandMeta,
    post: PostDoc,
    cmd: { authorId: string; expectedVersion: number },
    type: 'PostUpdated' | 'PostDeleted',
    payload: Record<string, unknown>,
  ): Promise<CommandResult> =>
    commitNext(wm, post, cmd, (current) =>
      committer.commit(meta, {
        type,
        aggregateType: 'post',
        aggregateId: current._id,
        version: current.version + 1,
        actorId: cmd.authorId,
        payload,
      }),
    );

  return {
    async createPost(meta: CommandMeta, cmd: CreatePostCommand): Promise<CommandResult> {
      requireId(cmd.authorId, 'author_id');
      if (!(VISIBILITIES as readonly string[]).includes(cmd.visibility)) {
        throw invalid('visibility must be PUBLIC, CONNECTIONS or PRIVATE', 'INVALID_VISIBILITY');
      }
      if (!(POST_TYPES as readonly string[]).includes(cmd.type)) {
        throw invalid('post_type must be TEXT, IMAGE, VIDEO or ARTICLE', 'INVALID_POST_TYPE');
      }
      await moderate(cmd.content, cmd.mediaUrls);
      const postId = meta.requestId ? hashId('p', meta.caller, cmd.authorId, meta.requestId) : randomId('p');
      await loadUser(wm, cmd.authorId, 'author');
      await limiter.consume(cmd.authorId, 'create_post');
      return committer.commit(meta, postEvent());

      function postEvent() {
        return {
          type: 'PostCreated' as const,
          aggregateType: 'post' as const,
          aggregateId: postId,
          version: 1,
          actorId: cmd.authorId,
          payload: {
            authorId: cmd.authorId,
            content: cmd.content,
            visibility: cmd.visibility,
            type: cmd.type,
            mediaUrls: cmd.mediaUrls,
          },
          ids: { postId },
        };
      }
    },

    async updatePost(meta: CommandMeta, cmd: UpdatePostCommand): Promise<CommandResult> {
      requireId(cmd.authorId, 'author_id');
      requireId(cmd.postId, 'post_id');
      const post = await ownPost(wm, cmd.authorId, cmd.postId);
      await moderate(cmd.content, post.mediaUrls);
      await limiter.consume(cmd.authorId, 'default');
      return commitPostChange(meta, post, cmd, 'PostUpdated', { authorId: cmd.authorId, content: cmd.content });
    },

    async deletePost(meta: CommandMeta, cmd: DeletePostCommand): Promise<CommandResult> {
      requireId(cmd.authorId, 'author_id');
      requireId(cmd.postId, 'post_id');
      const post = await ownPost(wm, cmd.authorId, cmd.postId);
      await limiter.consume(cmd.authorId, 'default');
      return commitPostChange(meta, post, cmd, 'PostDeleted', { authorId: cmd.authorId });
    },
  };
}
