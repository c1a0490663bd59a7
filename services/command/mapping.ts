import { create, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import type { Visibility as Vis } from '../../domain/visibility';
import type { CommandService } from '../../gen/feedflow/v1/command_pb';
import {
  CommandReceiptSchema,
  EngagementKind,
  PostType,
  Visibility,
  type CommandReceipt,
} from '../../gen/feedflow/v1/common_pb';
import type { EngagementKind as Kind, PostType as Type } from '../../stores/write-model';
import type { CommandHandler, CommandResult } from './commit';
import type { RecordEngagementCommand } from './handlers/engagement';
import type { CommandHandlers } from './handlers/index';
import type { RegisterUserCommand, UpdateProfileCommand } from './handlers/members';
import type { CreatePostCommand, DeletePostCommand, UpdatePostCommand } from './handlers/posts';
import type { PairCommand, RespondCommand } from './handlers/relationships';

type Methods = (typeof CommandService)['method'];

/** An RPC of CommandService, by its generated (camelCase) name. */
export type Rpc = keyof Methods;
/** Every command request carries a request id; the adapter reads it before the payload is mapped. */
export type RpcRequest<P extends Rpc> = MessageShape<Methods[P]['input']> & { requestId: string };
export type RpcResponse<P extends Rpc> = MessageInitShape<Methods[P]['output']>;
/** The domain command the RPC's handler takes: each RPC has a handler of the same name. */
type CommandOf<P extends Rpc> = Parameters<CommandHandlers[P]>[1];

/** One RPC: its request as a domain command, the handler that judges it, and the handler's result as a response. */
export interface Route<P extends Rpc> {
  command: (req: RpcRequest<P>) => CommandOf<P>;
  handle: CommandHandler<CommandOf<P>>;
  response: (r: CommandResult) => RpcResponse<P>;
}

export type Routes = { [P in Rpc]: Route<P> };

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

function receipt(r: CommandResult): CommandReceipt {
  return create(CommandReceiptSchema, r.receipt);
}

const receiptOnly = (r: CommandResult) => ({ receipt: receipt(r) });

// Each command mapper names its command type: a return type only inferred would let a misspelt optional field
// through, where an object literal passed straight to the handler would not.

type MemberAndPostRpc = 'registerUser' | 'updateProfile' | 'createPost' | 'updatePost' | 'deletePost';

function memberAndPostRoutes(h: CommandHandlers): Pick<Routes, MemberAndPostRpc> {
  return {
    /** Registers a member under an email no other member has. */
    registerUser: {
      command: (req): RegisterUserCommand => ({
        email: req.email,
        displayName: req.displayName,
        headline: req.headline,
        imageUrl: req.profileImageUrl,
      }),
      handle: h.registerUser,
      response: (r) => ({ userId: r.ids.userId, receipt: receipt(r) }),
    },
    /** Changes the profile fields that are set, only at the expected version. */
    updateProfile: {
      command: (req): UpdateProfileCommand => ({
        userId: req.userId,
        expectedVersion: req.expectedVersion,
        ...(req.displayName !== undefined ? { displayName: req.displayName } : {}),
        ...(req.headline !== undefined ? { headline: req.headline } : {}),
        ...(req.profileImageUrl !== undefined ? { imageUrl: req.profileImageUrl } : {}),
      }),
      handle: h.updateProfile,
      response: receiptOnly,
    },
    /** Publishes a post and fans it out to its audience. */
    createPost: {
      command: (req): CreatePostCommand => ({
        authorId: req.authorId,
        content: req.content,
        visibility: VISIBILITY[req.visibility] ?? '',
        type: POST_TYPE[req.postType] ?? '',
        mediaUrls: req.mediaUrls,
      }),
      handle: h.createPost,
      response: (r) => ({ postId: r.ids.postId, receipt: receipt(r) }),
    },
    /** Replaces a post's content for its author, at the expected version if one is given. */
    updatePost: {
      command: (req): UpdatePostCommand => ({
        authorId: req.authorId,
        postId: req.postId,
        content: req.content,
        expectedVersion: req.expectedVersion,
      }),
      handle: h.updatePost,
      response: receiptOnly,
    },
    /** Deletes a post everywhere for its author, at the expected version if one is given. */
    deletePost: {
      command: (req): DeletePostCommand => ({
        authorId: req.authorId,
        postId: req.postId,
        expectedVersion: req.expectedVersion,
      }),
      handle: h.deletePost,
      response: receiptOnly,
    },
  };
}

function relationshipAndEngagementRoutes(h: CommandHandlers): Omit<Routes, MemberAndPostRpc> {
  return {
    /** Asks another member to connect; pending until they respond. */
    requestConnection: {
      command: (req): PairCommand => ({ actorId: req.requesterId, otherId: req.addresseeId }),
      handle: h.requestConnection,
      response: (r) => ({ connectionId: r.ids.connectionId, receipt: receipt(r) }),
    },
    /** Accepts or declines a pending request, for its addressee only. */
    respondToConnection: {
      command: (req): RespondCommand => ({
        addresseeId: req.addresseeId,
        connectionId: req.connectionId,
        accept: req.accept,
      }),
      handle: h.respondToConnection,
      response: receiptOnly,
    },
    /** Ends an accepted connection, from either side. */
    removeConnection: {
      command: (req): PairCommand => ({ actorId: req.userId, otherId: req.otherUserId }),
      handle: h.removeConnection,
      response: receiptOnly,
    },
    /** Follows a member's public posts. */
    follow: {
      command: (req): PairCommand => ({ actorId: req.followerId, otherId: req.followeeId }),
      handle: h.follow,
      response: (r) => ({ relationshipId: r.ids.relationshipId, receipt: receipt(r) }),
    },
    /** Stops following. */
    unfollow: {
      command: (req): PairCommand => ({ actorId: req.followerId, otherId: req.followeeId }),
      handle: h.unfollow,
      response: receiptOnly,
    },
    /** Blocks a member, ending any connection and follow between the two, both ways. */
    block: {
      command: (req): PairCommand => ({ actorId: req.blockerId, otherId: req.blockedId }),
      handle: h.block,
      response: (r) => ({ relationshipId: r.ids.relationshipId, receipt: receipt(r) }),
    },
    /** Lifts a block; restores nothing the block ended. */
    unblock: {
      command: (req): PairCommand => ({ actorId: req.blockerId, otherId: req.blockedId }),
      handle: h.unblock,
      response: receiptOnly,
    },
    /** Records an engagement on a post the member can see; a hidden post answers as a missing one. */
    recordEngagement: {
      command: (req): RecordEngagementCommand => ({
        userId: req.userId,
        postId: req.postId,
        kind: KIND[req.kind] ?? '',
        comment: req.comment,
      }),
      handle: h.recordEngagement,
      response: (r) => ({ engagementId: r.ids.engagementId, receipt: receipt(r) }),
    },
  };
}

/** feedflow.v1.CommandService, RPC by RPC: protobuf to domain commands and back; the rules live in the handlers. */
export function commandRoutes(h: CommandHandlers): Routes {
  return { ...memberAndPostRoutes(h), ...relationshipAndEngagementRoutes(h) };
}
