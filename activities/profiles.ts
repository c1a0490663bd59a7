import type { ProfileResult, ProjectionInput } from '../pipeline/contracts/projection';
import { refreshActorItems } from '../stores/feed-items';
import { requireUser } from '../stores/projection-sources';
import { readModel } from '../stores/read-model';
import { actorSnapshot } from '../stores/read-model';
import { writeModel } from '../stores/write-model';
import type { ProjectionDeps } from './deps';
import { whileHeartbeating } from './heartbeat';

/** The activities of createProfileActivities, as workflows proxy them. */
export interface ProfileActivities {
  syncProfile(input: ProjectionInput): Promise<ProfileResult>;
}

/** Registration and profile changes: a graph node, and a fresh actor snapshot in every item by the member. */
export function createProfileActivities({ db, graph }: ProjectionDeps): ProfileActivities {
  const wm = writeModel(db);
  const rm = readModel(db);

  return {
    /** Refreshes the member's name, headline and image wherever an older snapshot of them is shown. */
    async syncProfile(input: ProjectionInput): Promise<ProfileResult> {
      const user = await requireUser(wm, input, input.aggregateId);
      if (user.version < input.version) throw new Error(`user ${user._id} not yet at v${input.version}; retrying`);
      await graph.ensureUsers([user._id]);
      // A new member has no items yet; skipping the refresh spares a scan of the whole feed collection.
      const itemsRefreshed =
        input.type === 'UserRegistered' ? 0 : await whileHeartbeating(refreshActorItems(rm, actorSnapshot(user)));
      return { userId: user._id, version: user.version, itemsRefreshed };
    },
  };
}
