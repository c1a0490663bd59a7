import { patched, proxyActivities } from '@temporalio/workflow';
import type { createEngagementActivities } from '../../activities/engagement';
import type { createPostActivities } from '../../activities/posts';
import type { createProfileActivities } from '../../activities/profiles';
import type { createRelationshipActivities } from '../../activities/relationships';
import type {
  EngagementResult,
  PostDeleteResult,
  PostUpdateResult,
  ProfileResult,
  ProjectionInput,
  PurgeResult,
} from '../../pipeline/contracts/projection';
import { STEP_RETRY } from '../retry';
import { markPostDirty } from './helpers';

/**
 * The one-activity-per-step shapes the small projections had before they moved to local activities (patch
 * `cheap-shapes`). Kept, with their original options, only so runs started before that change replay and finish.
 */

const retry = STEP_RETRY;
const long = { startToCloseTimeout: '10 minutes', heartbeatTimeout: '20 seconds', retry } as const;

const { markPostDeleted } = proxyActivities<ReturnType<typeof createPostActivities>>({
  startToCloseTimeout: '30 seconds',
  retry,
});
const { purgePost, applyPostUpdate } = proxyActivities<ReturnType<typeof createPostActivities>>(long);
const { syncProfile } = proxyActivities<ReturnType<typeof createProfileActivities>>(long);
const { syncRelationship, purgeRelationship } = proxyActivities<ReturnType<typeof createRelationshipActivities>>({
  startToCloseTimeout: '2 minutes',
  retry,
});
const { recountEngagement } = proxyActivities<ReturnType<typeof createEngagementActivities>>({
  startToCloseTimeout: '1 minute',
  retry,
});

export async function deletePostV1(input: ProjectionInput): Promise<PostDeleteResult> {
  await markPostDeleted(input);
  return await purgePost(input);
}

export async function updatePostV1(input: ProjectionInput): Promise<PostUpdateResult> {
  return await applyPostUpdate(input);
}

export async function purgeV1(input: ProjectionInput): Promise<PurgeResult> {
  const pair = await syncRelationship(input);
  return { purged: await purgeRelationship({ a: pair.a, b: pair.b }) };
}

export async function profileV1(input: ProjectionInput): Promise<ProfileResult> {
  return await syncProfile(input);
}

export async function engagementV1(postId: string): Promise<EngagementResult> {
  const result = await recountEngagement(postId);
  if (patched('rescore-on-engagement')) await markPostDirty(postId);
  return result;
}
