import { invalid } from '../../../domain/errors';
import { requireId } from '../../../domain/ids';
import { ENGAGEMENT_KINDS, type EngagementKind } from '../../../stores/write-model';
import type { CommandHandler, CommandResult } from '../commit';
import {
  type CommandMeta,
  commitFirst,
  type HandlerDeps,
  hashId,
  loadUser,
  loadVisiblePost,
  randomId,
} from './context';

export interface RecordEngagementCommand {
  userId: string;
  postId: string;
  kind: EngagementKind | '';
  comment: string;
}

export interface EngagementHandlers {
  /** Records a like, comment, share or view. A member likes a post at most once. */
  recordEngagement: CommandHandler<RecordEngagementCommand>;
}

export function createEngagementHandlers({ wm, committer, moderator, limiter }: HandlerDeps): EngagementHandlers {
  return {
    async recordEngagement(meta: CommandMeta, cmd: RecordEngagementCommand): Promise<CommandResult> {
      requireId(cmd.userId, 'user_id');
      requireId(cmd.postId, 'post_id');
      if (!(ENGAGEMENT_KINDS as readonly string[]).includes(cmd.kind)) {
        throw invalid('kind must be LIKE, COMMENT, SHARE or VIEW', 'INVALID_KIND');
      }
      const kind = cmd.kind as EngagementKind;
      if (kind === 'comment') {
        const verdict = await moderator.check({ content: cmd.comment, mediaUrls: [] });
        if (!verdict.ok) throw invalid(verdict.message, verdict.reason);
      } else if (cmd.comment) {
        throw invalid('comment is only allowed with kind COMMENT', 'UNEXPECTED_COMMENT');
      }
      await limiter.consume(cmd.userId, 'default');
      await loadUser(wm, cmd.userId);
      await loadVisiblePost(wm, cmd.userId, cmd.postId);
      const engagementId =
        kind === 'like'
          ? hashId('e', 'like', cmd.postId, cmd.userId)
          : meta.requestId
            ? hashId('e', meta.caller, cmd.userId, meta.requestId)
            : randomId('e');
      return commitFirst(
        committer,
        meta,
        {
          type: 'EngagementRecorded',
          aggregateType: 'engagement',
          aggregateId: engagementId,
          actorId: cmd.userId,
          payload: { postId: cmd.postId, userId: cmd.userId, kind, ...(cmd.comment ? { comment: cmd.comment } : {}) },
          ids: { engagementId },
        },
        { message: 'this member already liked the post', reason: 'ALREADY_LIKED' },
      );
    },
  };
}
