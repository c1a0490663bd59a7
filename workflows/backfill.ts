import { ApplicationFailure, patched, proxyActivities } from '@temporalio/workflow';
import type { createRelationshipActivities } from '../activities/relationships';
import type { BackfillResult, ProjectionInput } from './contracts/projection';
import { ensureSearchAttributes, requestFeedTrim, startViewerScoring } from './helpers';

const { syncRelationship, backfillFeed, backfillFeedItems } = proxyActivities<
  ReturnType<typeof createRelationshipActivities>
>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '10 seconds' },
});

/**
 * Connection accepted or followed: the graph learns the edge, then the new viewer's feed gets the other member's
 * posts of the last 7 days that they may see (both ways for a connection).
 */
export async function backfillWorkflow(input: ProjectionInput): Promise<BackfillResult> {
  if (!input?.eventId || !input.aggregateId || !input.version) {
    throw ApplicationFailure.nonRetryable('eventId, aggregateId and version are required', 'InvalidInput');
  }
  if (input.type !== 'ConnectionAccepted' && input.type !== 'Followed') {
    throw ApplicationFailure.nonRetryable(`backfill does not project ${input.type}`, 'InvalidInput');
  }
  ensureSearchAttributes('backfill', { viewerId: input.actorId, authorId: input.subjectId });
  const { a, b } = await syncRelationship(input);
  // A follow only lets the follower (a) see the followee (b); a connection works both ways.
  const directions =
    input.type === 'Followed'
      ? [[a, b]]
      : [
          [a, b],
          [b, a],
        ];
  const backfilled: Record<string, number> = {};
  // Backfilled items are scored like fanned-out ones; histories recorded before that replay without it.
  const scoring = patched('score-after-backfill');
  for (const [viewerId, authorId] of directions) {
    const req = { viewerId, authorId, acceptedAt: input.acceptedAt };
    if (!scoring) {
      backfilled[viewerId] = await backfillFeed(req);
      continue;
    }
    const { written, postIds } = await backfillFeedItems(req);
    backfilled[viewerId] = written;
    await startViewerScoring(`score/backfill/${input.eventId}/${viewerId}`, { viewerId, postIds });
  }
  await requestFeedTrim();
  return { backfilled };
}
