import { ApplicationFailure, patched } from '@temporalio/workflow';
import type { ProfileResult, ProjectionInput } from '../pipeline/contracts/projection';
import { ensureSearchAttributes } from './helpers';
import { profileV1 } from './legacy/simple';
import { CHEAP_SHAPES, localFirst } from './steps';

/** User registered or profile updated: every item by the member shows their current name, headline and image. */
export async function profileWorkflow(input: ProjectionInput): Promise<ProfileResult> {
  if (!input?.eventId || !input.aggregateId || !input.version) {
    throw ApplicationFailure.nonRetryable('eventId, aggregateId and version are required', 'InvalidInput');
  }
  ensureSearchAttributes('profile', { authorId: input.aggregateId });
  if (!patched(CHEAP_SHAPES)) return profileV1(input);
  return await localFirst((a) => a.syncProfile(input), 'long');
}
