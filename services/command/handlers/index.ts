import type { HandlerDeps } from './context';
import { createEngagementHandlers } from './engagement';
import { createMemberHandlers } from './members';
import { createPostHandlers } from './posts';
import { createRelationshipHandlers } from './relationships';

export type { HandlerDeps };

/** Every command handler: validation, authorization of the member, limits, moderation, then commit. */
export function createCommandHandlers(deps: HandlerDeps) {
  return {
    ...createMemberHandlers(deps),
    ...createPostHandlers(deps),
    ...createRelationshipHandlers(deps),
    ...createEngagementHandlers(deps),
  };
}
