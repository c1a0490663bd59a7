import { patched, proxyActivities } from '@temporalio/workflow';
import type { createRelationshipActivities } from '../../activities/relationships';
import type { BackfillResult, ProjectionInput } from '../../pipeline/contracts/projection';
import { startViewerScoring } from '../helpers';
import { STEP_RETRY } from '../retry';
import { requestFeedTrim } from './helpers';

const { syncRelationship, backfillFeed, backfillFeedItems } = proxyActivities<
  ReturnType<typeof createRelationshipActivities>
>({
  startToCloseTimeout: '2 minutes',
  retry: STEP_RETRY,
});

/** The backfill before patch `cheap-shapes`: one activity per step, a cap-sweep child. Replay only. */
export async function backfillV1(input: ProjectionInput): Promise<BackfillResult> {
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
