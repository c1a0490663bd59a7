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
import type { EngagementKind as Kind, PostType as Type } from '../../stores/write-model';
import { callerKey } from '../shared/auth';
import type { CommandMeta, CommandResult } from './commit';
import type { createCommandHandlers } from './handlers/index';
import type { Visibility as Vis } from '../../domain/visibility';
import { invalid } from '../../domain/errors';

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
export function createCommandService(
  h: ReturnType<typeof createCommandHandlers>,
  replayIfSeen: (meta: CommandMeta) => Promise<CommandResult | undefined>,
): ServiceImpl<typeof CommandService> {
  const m = CommandService.method;
  // A retry of an accepted request answers as the original did, before any rule can judge it afresh.
  const run = async (meta: CommandMeta, handle: (meta: CommandMeta) => Promise<CommandResult>) =>
    (await replayIfSeen(meta)) ?? handle(meta);
  return {
    async registerUser(req, ctx) {
      const r = await run(metaOf(m.registerUser.input, req, ctx, 'RegisterUser'), (meta) =>
        h.registerUser(meta, {
          email: req.email,
          displayName: req.displayName,
          headline: req.headline,
          imageUrl: req.profileImageUrl,
        }),
      );
      return { userId: r.ids.userId, receipt: receipt(r) };
    },
    async updateProfile(req, ctx) {
      const r = await run(metaOf(m.updateProfile.input, req, ctx, 'UpdateProfile'), (meta) =>
        h.updateProfile(meta, {
          userId: req.userId,
          expectedVersion: req.expectedVersion,
          ...(req.displayName !== undefined ? { displayName: req.displayName } : {}),
          ...(req.headline !== undefined ? { headline: req.headline } : {}),
          ...(req.profileImageUrl !== undefined ? { imageUrl: req.profileImageUrl } : {}),
        }),
      );
      return { receipt: receipt(r) };
    },
    async createPost(req, ctx) {
      const r = await run(metaOf(m.createPost.input, req, ctx, 'CreatePost'), (meta) =>
        h.createPost(meta, {
          authorId: req.authorId,
          content: req.content,
          visibility: VISIBILITY[req.visibility] ?? '',
          type: POST_TYPE[req.postType] ?? '',
          mediaUrls: req.mediaUrls,
        }),
      );
      return { postId: r.ids.postId, receipt: receipt(r) };
    },
    async updatePost(req, ctx) {
      const r = await run(metaOf(m.updatePost.input, req, ctx, 'UpdatePost'), (meta) =>
        h.updatePost(meta, {
          authorId: req.authorId,
          postId: req.postId,
          content: req.content,
          expectedVersion: req.expectedVersion,
        }),
      );
      return { receipt: receipt(r) };
    },
    async deletePost(req, ctx) {
      const r = await run(metaOf(m.deletePost.input, req, ctx, 'DeletePost'), (meta) =>
        h.deletePost(meta, {
          authorId: req.authorId,
          postId: req.postId,
          expectedVersion: req.expectedVersion,
        }),
      );
      return { receipt: receipt(r) };
    },
    async requestConnection(req, ctx) {
      const r = await run(metaOf(m.requestConnection.input, req, ctx, 'RequestConnection'), (meta) =>
        h.requestConnection(meta, {
          actorId: req.requesterId,
          otherId: req.addresseeId,
        }),
      );
      return { connectionId: r.ids.connectionId, receipt: receipt(r) };
    },
    async respondToConnection(req, ctx) {
      const r = await run(metaOf(m.respondToConnection.input, req, ctx, 'RespondToConnection'), (meta) =>
        h.respondToConnection(meta, {
          addresseeId: req.addresseeId,
          connectionId: req.connectionId,
          accept: req.accept,
        }),
      );
      return { receipt: receipt(r) };
    },
    async removeConnection(req, ctx) {
      const r = await run(metaOf(m.removeConnection.input, req, ctx, 'RemoveConnection'), (meta) =>
        h.removeConnection(meta, {
          actorId: req.userId,
          otherId: req.otherUserId,
        }),
      );
      return { receipt: receipt(r) };
    },
    async follow(req, ctx) {
      const r = await run(metaOf(m.follow.input, req, ctx, 'Follow'), (meta) =>
        h.follow(meta, {
          actorId: req.followerId,
          otherId: req.followeeId,
        }),
      );
      return { relationshipId: r.ids.relationshipId, receipt: receipt(r) };
    },
    async unfollow(req, ctx) {
      const r = await run(metaOf(m.unfollow.input, req, ctx, 'Unfollow'), (meta) =>
        h.unfollow(meta, {
          actorId: req.followerId,
          otherId: req.followeeId,
        }),
      );
      return { receipt: receipt(r) };
    },
    async block(req, ctx) {
      const r = await run(metaOf(m.block.input, req, ctx, 'Block'), (meta) =>
        h.block(meta, {
          actorId: req.blockerId,
          otherId: req.blockedId,
        }),
      );
      return { relationshipId: r.ids.relationshipId, receipt: receipt(r) };
    },
    async unblock(req, ctx) {
      const r = await run(metaOf(m.unblock.input, req, ctx, 'Unblock'), (meta) =>
        h.unblock(meta, {
          actorId: req.blockerId,
          otherId: req.blockedId,
        }),
      );
      return { receipt: receipt(r) };
    },
    async recordEngagement(req, ctx) {
      const r = await run(metaOf(m.recordEngagement.input, req, ctx, 'RecordEngagement'), (meta) =>
        h.recordEngagement(meta, {
          userId: req.userId,
          postId: req.postId,
          kind: KIND[req.kind] ?? '',
          comment: req.comment,
        }),
      );
      return { engagementId: r.ids.engagementId, receipt: receipt(r) };
    },
  };
}
