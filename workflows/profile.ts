import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { createProfileActivities } from '../activities/profiles';
import type { ProfileResult, ProjectionInput } from './contracts/projection';
import { ensureSearchAttributes } from './helpers';

const { syncProfile } = proxyActivities<ReturnType<typeof createProfileActivities>>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '10 seconds' },
});

/** User registered or profile updated: every item by the member shows their current name, headline and image. */
export async function profileWorkflow(input: ProjectionInput): Promise<ProfileResult> {
  if (!input?.eventId || !input.aggregateId || !input.version) {
    throw ApplicationFailure.nonRetryable('eventId, aggregateId and version are required', 'InvalidInput');
  }
  ensureSearchAttributes('profile', { authorId: input.aggregateId });
  return await syncProfile(input);
}
