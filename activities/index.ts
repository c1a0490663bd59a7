import { createConsistencyActivities, type ConsistencyActivities } from './consistency';
import type { ProjectionDeps } from './deps';
import { createEngagementActivities, type EngagementActivities } from './engagement';
import { createFanoutActivities, type FanoutActivities } from './fanout';
import { createMaintenanceActivities, type MaintenanceActivities } from './maintenance';
import { createPostActivities, type PostActivities } from './posts';
import { createProfileActivities, type ProfileActivities } from './profiles';
import { createPullTransitionActivities, type PullTransitionActivities } from './pull-transition';
import { createRelationshipActivities, type RelationshipActivities } from './relationships';
import { createRepairActivities, type RepairActivities } from './repairs';
import { createStartActivities, type StartActivities } from './starts';

export type { ProjectionDeps } from './deps';

/** Every projection activity, as the projection workflows proxy them. */
export type ProjectionActivities = FanoutActivities &
  PostActivities &
  RelationshipActivities &
  PullTransitionActivities &
  ProfileActivities &
  EngagementActivities &
  MaintenanceActivities &
  ConsistencyActivities &
  RepairActivities &
  StartActivities;

/** Every projection activity, for a worker to register. */
export function createProjectionActivities(deps: ProjectionDeps): ProjectionActivities {
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
