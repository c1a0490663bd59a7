import type { Client } from '@temporalio/client';
import { eventIdFor } from '../../domain/events';
import type { ProjectionInput } from '../../pipeline/contracts/projection';
import { TASK_QUEUES } from '../../pipeline/queues';
import { SEARCH_ATTRIBUTES } from '../../pipeline/search-attributes';
import type { Graph } from '../../stores/graph';
import { type FeedItemDoc, readModel } from '../../stores/read-model';
import { type PostDoc, writeModel } from '../../stores/write-model';
import { type TestStores, uniqueId } from './env';

/** Data for the projection trip, written the way the command side writes it, and the feeds it ends in. */

/** A viewer's feed as `postId@version`, sorted, for exact comparisons. */
export async function feedOf(stores: TestStores, viewerId: string): Promise<string[]> {
  const docs = await readModel(stores.db).feedItems.find({ viewerId }).toArray();
  return docs.map((d: FeedItemDoc) => `${d.postId}@${d.version}`).sort();
}

/** `n` followers (or connections) of `authorId`, with ids that sort in creation order. Batched UNWINDs. */
export async function seedAudience(
  graph: Graph,
  authorId: string,
  n: number,
  kind: 'FOLLOWS' | 'CONNECTED' = 'FOLLOWS',
): Promise<string[]> {
  const tag = kind === 'FOLLOWS' ? 'f' : 'c';
  const ids = Array.from({ length: n }, (_, i) => `${authorId}-${tag}${String(i).padStart(7, '0')}`);
  for (let i = 0; i < n; i += 5_000) {
    const batch = ids.slice(i, i + 5_000);
    await graph.syncEdges(batch.map((id) => ({ kind, from: id, to: authorId, active: true, version: 1 })));
  }
  return ids;
}

/**
 * An author and a post written the way the command side writes them (write-model documents and the event), so a
 * fan-out can be started directly. Returns the projection input the command side would pass.
 */
export async function seedPost(
  stores: TestStores,
  authorId: string,
  opts: { visibility?: PostDoc['visibility']; content?: string; at?: Date } = {},
): Promise<ProjectionInput> {
  const wm = writeModel(stores.db);
  const at = opts.at ?? new Date();
  await wm.users.updateOne(
    { _id: authorId },
    {
      $setOnInsert: {
        email: `${authorId}@example.com`,
        displayName: `Member ${authorId}`,
        headline: 'Engineer',
        imageUrl: '',
        version: 1,
        createdAt: at,
        updatedAt: at,
      },
    },
    { upsert: true },
  );
  const postId = uniqueId('post');
  const eventId = eventIdFor('post', postId, 1, 'PostCreated');
  const payload = { authorId, visibility: opts.visibility ?? 'public', type: 'text' };
  await wm.posts.insertOne({
    _id: postId,
    authorId,
    content: opts.content ?? `post by ${authorId}`,
    visibility: opts.visibility ?? 'public',
    type: 'text',
    mediaUrls: [],
    version: 1,
    deleted: false,
    createdAt: at,
    updatedAt: at,
  });
  await wm.events.insertOne({
    _id: eventId,
    type: 'PostCreated',
    aggregateType: 'post',
    aggregateId: postId,
    aggregateVersion: 1,
    at,
    actorId: authorId,
    caller: 'test',
    payload,
    workflowId: eventId,
    workflowType: 'fanoutPostWorkflow',
    status: 'started',
    requestKey: eventId,
    requestHash: '',
    result: {},
  });
  return {
    eventId,
    type: 'PostCreated',
    aggregateId: postId,
    postId,
    version: 1,
    acceptedAt: at.toISOString(),
    actorId: authorId,
  };
}

/** Starts a fan-out the way the command side does: business id, queue, typed search attributes. */
export async function startFanout(temporal: Client, prefix: string, input: ProjectionInput) {
  return temporal.workflow.start('fanoutPostWorkflow', {
    taskQueue: prefix + TASK_QUEUES.projection,
    workflowId: input.eventId,
    args: [input],
    typedSearchAttributes: [
      { key: SEARCH_ATTRIBUTES.feedOperation, value: 'fanout' },
      { key: SEARCH_ATTRIBUTES.postId, value: input.postId! },
      { key: SEARCH_ATTRIBUTES.authorId, value: input.actorId },
    ],
  });
}
