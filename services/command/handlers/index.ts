import type { HandlerDeps } from './context';
import { createEngagementHandlers, type EngagementHandlers } from './engagement';
import { createMemberHandlers, type MemberHandlers } from './members';
import { createPostHandlers, type PostHandlers } from './posts';
import { createRelationshipHandlers, type RelationshipHandlers } from './relationships';

export type { HandlerDeps };

/** Every command handler, by the name of the RPC it serves. */
export type CommandHandlers = MemberHandlers & PostHandlers & RelationshipHandlers & EngagementHandlers;

/** Every command handler: validation, authorization of the member, limits, moderation, then commit. */
export function createCommandHandlers(deps: HandlerDeps): CommandHandlers {
  return {
    ...createMemberHandlers(deps),
    ...createPostHandlers(deps),
    ...createRelationshipHandlers(deps),
    ...createEngagementHandlers(deps),
  };
}
