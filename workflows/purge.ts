import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { createRelationshipActivities } from '../activities/relationships';
import type { ProjectionInput, PurgeResult } from './contracts/projection';
import { ensureSearchAttributes } from './helpers';

const PURGE_EVENTS = new Set(['ConnectionRemoved', 'Unfollowed', 'Blocked', 'Unblocked']);

const { syncRelationship, purgeRelationship } = proxyActivities<ReturnType<typeof createRelationshipActivities>>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '10 seconds' },
});

/**
 * Connection removed, unfollowed, blocked or unblocked (priority queue): the graph drops the edge, then each feed
 * loses what the pair's state no longer allows. A block ended every edge both ways, so it purges both feeds.
 */
export async function purgeWorkflow(input: ProjectionInput): Promise<PurgeResult> {
  if (!input?.eventId || !input.aggregateId || !input.version) {
    throw ApplicationFailure.nonRetryable('eventId, aggregateId and version are required', 'InvalidInput');
  }
  if (!PURGE_EVENTS.has(input.type)) {
    throw ApplicationFailure.nonRetryable(`purge does not project ${input.type}`, 'InvalidInput');
  }
  ensureSearchAttributes('purge', { viewerId: input.actorId, authorId: input.subjectId });
  const pair = await syncRelationship(input);
  return { purged: await purgeRelationship({ a: pair.a, b: pair.b }) };
}
