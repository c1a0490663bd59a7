import { ApplicationFailure, patched } from '@temporalio/workflow';
import type { ProjectionInput, PurgeResult } from '../pipeline/contracts/projection';
import { eventsProjectedAs } from '../pipeline/routing';
import { ensureSearchAttributes } from './helpers';
import { purgeV1 } from './legacy/simple';
import { CHEAP_SHAPES, localFirst } from './steps';

/** Connection removed, unfollowed, blocked and unblocked: the events routed here. */
const ROUTED_HERE = eventsProjectedAs('purge');

/**
 * Connection removed, unfollowed, blocked or unblocked (priority queue): the graph drops the edge, then each feed
 * loses what the pair's state no longer allows. A block ended every edge both ways, so it purges both feeds.
 */
export async function purgeWorkflow(input: ProjectionInput): Promise<PurgeResult> {
  if (!input?.eventId || !input.aggregateId || !input.version) {
    throw ApplicationFailure.nonRetryable('eventId, aggregateId and version are required', 'InvalidInput');
  }
  if (!ROUTED_HERE.has(input.type)) {
    throw ApplicationFailure.nonRetryable(`purge does not project ${input.type}`, 'InvalidInput');
  }
  ensureSearchAttributes('purge', { viewerId: input.actorId, authorId: input.subjectId });
  if (!patched(CHEAP_SHAPES)) return purgeV1(input);
  const pair = await localFirst((a) => a.syncRelationship(input));
  return { purged: await localFirst((a) => a.purgeRelationship({ a: pair.a, b: pair.b })) };
}
