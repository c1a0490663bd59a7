import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, type NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createProjectionActivities, type ProjectionDeps } from '../../activities';
import { createOperationsActivities } from '../../activities/operations';
import { eventIdFor } from '../../domain/events';
import { createLogger } from '../../lib/logger';
import { createGraph, type Graph } from '../../stores/graph';
import { ensureReadModelIndexes, type FeedItemDoc, readModel } from '../../stores/read-model';
import { type PostDoc, writeModel } from '../../stores/write-model';
import { loadWorkflowBundle, type PrebuiltBundle } from '../../workers/bundle';
import type { ProjectionInput } from '../../workflows/contracts/projection';
import { SEARCH_ATTRIBUTES, TASK_QUEUES } from '../../workflows/shared';
import { type TestStores, uniqueId } from '../support/env';

/** Shared wiring for the projection suites: the prebuilt workflow bundle, in-process workers per test. */

try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // Another suite in this process installed the runtime first; its logger stays.
}

let bundle: Promise<PrebuiltBundle> | undefined;
/** The bundle the workers load, brought up to date by mocha's global setup (test/support/workflow-bundle.ts). */
export function workflowBundle(): Promise<PrebuiltBundle> {
  bundle ??= loadWorkflowBundle();
  return bundle;
}

export interface RunningWorkers {
  stop(): Promise<void>;
}

/** Runs one worker per given task queue in this process until `stop()`. */
export async function runWorkers(
  connection: NativeConnection,
  namespace: string,
  taskQueues: string[],
  activities: object,
): Promise<RunningWorkers> {
  const bundled = await workflowBundle();
  const workers = await Promise.all(
    taskQueues.map((taskQueue) =>
      Worker.create({ connection, namespace, taskQueue, workflowBundle: bundled, activities, maxCachedWorkflows: 100 }),
    ),
  );
  const running = workers.map((w) => w.run());
  return {
    async stop() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.all(running);
    },
  };
}

/** Both projection queues under a prefix, with the real activities over the test's stores. */
export async function runProjectionWorkers(
  connection: NativeConnection,
  stores: TestStores,
  prefix: string,
  config: Partial<ProjectionDeps['config']> = {},
  /** Given a client, the operations activities (outbox sweep, check reports) are registered too. */
  temporal?: Client,
): Promise<RunningWorkers & { graph: Graph }> {
  const graph = createGraph(stores.graph, stores.config.GRAPH_DIALECT);
  await Promise.all([ensureReadModelIndexes(stores.db), graph.ensureSchema()]);
  const logger = createLogger('projection-test', 'silent');
  const activities = {
    ...createProjectionActivities({ db: stores.db, graph, config: { ...stores.config, ...config }, logger }),
    ...(temporal ? createOperationsActivities({ db: stores.db, temporal, config: stores.config, logger }) : {}),
  };
  const queues = [prefix + TASK_QUEUES.projection, prefix + TASK_QUEUES.priority];
  const workers = await runWorkers(connection, stores.config.TEMPORAL_NAMESPACE, queues, activities);
  return { ...workers, graph };
}

/** Waits until every workflow the listed ids name has closed, and returns their results. */
export async function settle(temporal: Client, workflowIds: string[]): Promise<unknown[]> {
  return Promise.all(workflowIds.map((id) => temporal.workflow.getHandle(id).result()));
}

/** A viewer's feed as `postId@version`, sorted, for exact comparisons. */
export async function feedOf(stores: TestStores, viewerId: string): Promise<string[]> {
  const docs = await readModel(stores.db).feedItems.find({ viewerId }).toArray();
  return docs.map((d: FeedItemDoc) => `${d.postId}@${d.version}`).sort();
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
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

/**
 * History fixtures as JSON via @temporalio/proto's own message type. `historyToJSON`/`historyFromJSON` from
 * @temporalio/common fail in this install ("type must be a Type"): common and proto each nest their own copy of
 * protobufjs 8, and protojson checks the type's class across the two.
 */
const HistoryType = temporal.api.history.v1.History;
export function historyToFixture(history: temporal.api.history.v1.IHistory): string {
  return JSON.stringify(
    HistoryType.toObject(HistoryType.fromObject(history), { longs: String, enums: String, bytes: String }),
    null,
    1,
  );
}
export function historyFromFixture(json: string): temporal.api.history.v1.IHistory {
  return HistoryType.fromObject(JSON.parse(json));
}
