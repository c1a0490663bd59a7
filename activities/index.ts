import { createConsistencyActivities } from './consistency';
import type { ProjectionDeps } from './deps';
import { createEngagementActivities } from './engagement';
import { createFanoutActivities } from './fanout';
import { createMaintenanceActivities } from './maintenance';
import { createPostActivities } from './posts';
import { createProfileActivities } from './profiles';
import { createPullTransitionActivities } from './pull-transition';
import { createRelationshipActivities } from './relationships';
import { createRepairActivities } from './repairs';
import { createStartActivities } from './starts';

export type { ProjectionDeps } from './deps';

/** Every projection activity, for a worker to register. */
export function createProjectionActivities(deps: ProjectionDeps) {
  return {
    ...createFanoutActivities(deps),
    ...createPostActivities(deps),
    ...createRelationshipActivities(deps),
    ...createPullTransitionActivities(deps),
    ...createProfileActivities(deps),
    ...createEngagementActivities(deps),
    ...createMaintenanceActivities(deps),
    ...createConsistencyActivities(deps),
    ...createRepairActivities(deps),
    ...createStartActivities(),
  };
}
