import { createHash } from 'node:crypto';
import { create, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import { CommandService } from '../../gen/feedflow/v1/command_pb';
import {
  CommandReceiptSchema,
  EngagementKind,
  PostType,
  Visibility,
  type CommandReceipt,
} from '../../gen/feedflow/v1/common_pb';
import type { EngagementKind as Kind, PostType as Type, Visibility as Vis } from '../../stores/write-model';
import { callerKey } from '../shared/auth';
import { invalid } from '../shared/errors';
import type { CommandMeta, CommandResult } from './commit';
import type { createCommandHandlers } from './handlers/index';

const VISIBILITY: Record<number, Vis | ''> = {
  [Visibility.PUBLIC]: 'public',
  [Visibility.CONNECTIONS]: 'connections',
  [Visibility.PRIVATE]: 'private',
};
const POST_TYPE: Record<number, Type | ''> = {
  [PostType.TEXT]: 'text',
  [PostType.IMAGE]: 'image',
  [PostType.VIDEO]: 'video',
  [PostType.ARTICLE]: 'article',
};
const KIND: Record<number, Kind | ''> = {
  [EngagementKind.LIKE]: 'like',
  [EngagementKind.COMMENT]: 'comment',
  [EngagementKind.SHARE]: 'share',
  [EngagementKind.VIEW]: 'view',
};

const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** Builds the command metadata: the caller, and a hash of the payload that ignores the request id. */
function metaOf<D extends DescMessage>(
  schema: D,
  req: MessageShape<D> & { requestId: string },
  ctx: HandlerContext,
  rpc: string,
): CommandMeta {
  if (req.requestId && !REQUEST_ID.test(req.requestId)) {
    throw invalid('request_id must be 1-128 printable ASCII characters', 'MALFORMED_REQUEST_ID');
  }
  const bytes = toBinary(schema, { ...req, requestId: '' } as MessageShape<D>);
  return {
    caller: ctx.values.get(callerKey).service,
    rpc,
    requestId: req.requestId,
    requestHash: createHash('sha256').update(bytes).digest('base64url'),
  };
}

function receipt(r: CommandResult): CommandReceipt {
  return create(CommandReceiptSchema, r.receipt);
}

/** feedflow.v1.CommandService: maps protobuf to domain commands and back; rules live in the handlers. */
export function createCommandService(h: ReturnType<typeof createCommandHandlers>): ServiceImpl<typeof CommandService> {
  const m = CommandService.method;
  return {
    async registerUser(req, ctx) {
      const r = await h.registerUser(metaOf(m.registerUser.input, req, ctx, 'RegisterUser'), {
        email: req.email,
        displayName: req.displayName,
        headline: req.headline,
        imageUrl: req.profileImageUrl,
      });
      return { userId: r.ids.userId, receipt: receipt(r) };
    },
    async updateProfile(req, ctx) {
      const r = await h.updateProfile(metaOf(m.updateProfile.input, req, ctx, 'UpdateProfile'), {
        userId: req.userId,
        expectedVersion: req.expectedVersion,
        ...(req.displayName !== undefined ? { displayName: req.displayName } : {}),
        ...(req.headline !== undefined ? { headline: req.headline } : {}),
        ...(req.profileImageUrl !== undefined ? { imageUrl: req.profileImageUrl } : {}),
      });
      return { receipt: receipt(r) };
    },
    async createPost(req, ctx) {
      const r = await h.createPost(metaOf(m.createPost.input, req, ctx, 'CreatePost'), {
        authorId: req.authorId,
        content: req.content,
        visibility: VISIBILITY[req.visibility] ?? '',
        type: POST_TYPE[req.postType] ?? '',
        mediaUrls: req.mediaUrls,
      });
      return { postId: r.ids.postId, receipt: receipt(r) };
    },
    async updatePost(req, ctx) {
      const r = await h.updatePost(metaOf(m.updatePost.input, req, ctx, 'UpdatePost'), {
        authorId: req.authorId,
        postId: req.postId,
        content: req.content,
        expectedVersion: req.expectedVersion,
      });
      return { receipt: receipt(r) };
    },
    async deletePost(req, ctx) {
      const r = await h.deletePost(metaOf(m.deletePost.input, req, ctx, 'DeletePost'), {
        authorId: req.authorId,
        postId: req.postId,
        expectedVersion: req.expectedVersion,
      });
      return { receipt: receipt(r) };
    },
    async requestConnection(req, ctx) {
      const r = await h.requestConnection(metaOf(m.requestConnection.input, req, ctx, 'RequestConnection'), {
        actorId: req.requesterId,
        otherId: req.addresseeId,
      });
      return { connectionId: r.ids.connectionId, receipt: receipt(r) };
    },
    async respondToConnection(req, ctx) {
      const r = await h.respondToConnection(metaOf(m.respondToConnection.input, req, ctx, 'RespondToConnection'), {
        addresseeId: req.addresseeId,
        connectionId: req.connectionId,
        accept: req.accept,
      });
      return { receipt: receipt(r) };
    },
    async removeConnection(req, ctx) {
      const r = await h.removeConnection(metaOf(m.removeConnection.input, req, ctx, 'RemoveConnection'), {
        actorId: req.userId,
        otherId: req.otherUserId,
      });
      return { receipt: receipt(r) };
    },
    async follow(req, ctx) {
      const r = await h.follow(metaOf(m.follow.input, req, ctx, 'Follow'), {
        actorId: req.followerId,
        otherId: req.followeeId,
      });
      return { relationshipId: r.ids.relationshipId, receipt: receipt(r) };
    },
    async unfollow(req, ctx) {
      const r = await h.unfollow(metaOf(m.unfollow.input, req, ctx, 'Unfollow'), {
        actorId: req.followerId,
        otherId: req.followeeId,
      });
      return { receipt: receipt(r) };
    },
    async block(req, ctx) {
      const r = await h.block(metaOf(m.block.input, req, ctx, 'Block'), {
        actorId: req.blockerId,
        otherId: req.blockedId,
      });
      return { relationshipId: r.ids.relationshipId, receipt: receipt(r) };
    },
    async unblock(req, ctx) {
      const r = await h.unblock(metaOf(m.unblock.input, req, ctx, 'Unblock'), {
        actorId: req.blockerId,
        otherId: req.blockedId,
      });
      return { receipt: receipt(r) };
    },
    async recordEngagement(req, ctx) {
      const r = await h.recordEngagement(metaOf(m.recordEngagement.input, req, ctx, 'RecordEngagement'), {
        userId: req.userId,
        postId: req.postId,
        kind: KIND[req.kind] ?? '',
        comment: req.comment,
      });
      return { engagementId: r.ids.engagementId, receipt: receipt(r) };
    },
  };
}
