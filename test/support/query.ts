import type { Client } from '@connectrpc/connect';
import { FeedService } from '../../gen/feedflow/v1/feed_pb';
import { connectGraph } from '../../lib/clients';
import { createLogger } from '../../lib/logger';
import { startQueryServer, type QueryServer } from '../../services/query/server';
import { writeModel } from '../../stores/write-model';
import { startCommandHarness, type CommandHarness } from './command';
import { grpcClient } from './grpc';

export interface QueryHarness extends CommandHarness {
  query: QueryServer;
  feed: Client<typeof FeedService>;
  /** Writes a feed item the way the projection does, for tests that shape the read model by hand. */
  push(viewerId: string, postId: string, extra?: Record<string, unknown>): Promise<void>;
}

/** Command and query servers in this process over one fresh database, with real gRPC clients to both. */
export async function startQueryHarness(env: Record<string, string> = {}): Promise<QueryHarness> {
  const h = await startCommandHarness(env);
  const graph = connectGraph(h.stores.config);
  const query = await startQueryServer({
    config: h.stores.config,
    db: h.stores.db,
    graph,
    temporal: h.temporal,
    logger: createLogger('query-test', process.env.TEST_LOG_LEVEL ?? 'silent'),
    port: 0,
  });
  const wm = writeModel(h.stores.db);
  return {
    ...h,
    query,
    feed: grpcClient(FeedService, query.port, 'dev-queries'),
    async push(viewerId, postId, extra = {}) {
      const post = await wm.posts.findOne({ _id: postId });
      const author = post && (await wm.users.findOne({ _id: post.authorId }));
      if (!post || !author) throw new Error(`no post ${postId}`);
      await h.stores.db.collection('feed_items').replaceOne(
        { _id: `${viewerId}:${postId}` as never },
        {
          viewerId,
          postId,
          version: post.version,
          actor: { id: author._id, name: author.displayName, headline: author.headline, imageUrl: author.imageUrl },
          type: post.type,
          content: post.content,
          mediaUrls: post.mediaUrls,
          visibility: post.visibility,
          createdAt: post.createdAt,
          score: 1,
          reason: 'connection',
          projectedAt: new Date(),
          ...extra,
        },
        { upsert: true },
      );
    },
    async close() {
      await query.close();
      await graph.close();
      await h.close();
    },
  };
}
