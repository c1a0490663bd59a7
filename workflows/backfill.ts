import { ApplicationFailure, patched } from '@temporalio/workflow';
import type { BackfillResult, ProjectionInput } from '../pipeline/contracts/projection';
import { ensureSearchAttributes } from './helpers';
import { backfillV1 } from './legacy/backfill';
import { CHEAP_SHAPES, localFirst, viewerScoring } from './steps';

/**
 * Connection accepted or followed: the graph learns the edge, then the new viewer's feed gets the other member's
 * posts of the last 7 days that they may see (both ways for a connection, in parallel), and what was delivered
 * is handed to scoring.
 */
export async function backfillWorkflow(input: ProjectionInput): Promise<BackfillResult> {
  if (!input?.eventId || !input.aggregateId || !input.version) {
    throw ApplicationFailure.nonRetryable('eventId, aggregateId and version are required', 'InvalidInput');
  }
  if (input.type !== 'ConnectionAccepted' && input.type !== 'Followed') {
    throw ApplicationFailure.nonRetryable(`backfill does not project ${input.type}`, 'InvalidInput');
  }
  ensureSearchAttributes('backfill', { viewerId: input.actorId, authorId: input.subjectId });
  if (!patched(CHEAP_SHAPES)) return backfillV1(input);
  const { a, b } = await localFirst((act) => act.syncRelationship(input));
  // A follow only lets the follower (a) see the followee (b); a connection works both ways.
  const directions =
    input.type === 'Followed'
      ? [[a, b]]
      : [
          [a, b],
          [b, a],
        ];
  const delivered = await Promise.all(
    directions.map(([viewerId, authorId]) =>
      localFirst((act) => act.backfillFeedItems({ viewerId, authorId, acceptedAt: input.acceptedAt })),
    ),
  );
  const backfilled: Record<string, number> = {};
  const scorings = directions.flatMap(([viewerId], i) => {
    backfilled[viewerId] = delivered[i].written;
    const postIds = delivered[i].postIds;
    return postIds.length ? [viewerScoring(`score/backfill/${input.eventId}/${viewerId}`, { viewerId, postIds })] : [];
  });
  if (scorings.length) await localFirst((act) => act.startDetached(scorings));
  return { backfilled };
}
