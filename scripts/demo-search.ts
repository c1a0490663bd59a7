/**
 * The demo story's last scene: a search. Grace's connections-only post is found by her connection Ada, with the
 * matched words highlighted, and not by a member outside her network, though the words are the same.
 */
import type { Client } from '@connectrpc/connect';
import type { CommandService } from '../gen/feedflow/v1/command_pb';
import type { FeedService } from '../gen/feedflow/v1/feed_pb';
import { demoRequest } from './demo-seed';
import type { Supervisor } from './supervise';

const SEARCH_DEADLINE_MS = 120_000;
const QUERY = 'moth log book';

export async function searchScene(deps: {
  cmd: Client<typeof CommandService>;
  feed: Client<typeof FeedService>;
  apps: Supervisor;
  ada: string;
  grace: string;
  postId: string;
  log: (msg: string) => void;
}): Promise<void> {
  const { cmd, feed, apps, ada, postId, log } = deps;
  const outsider = await cmd.registerUser({
    email: `outsider@${demoRequest('search')}.demo.feedflow.dev`,
    displayName: 'Hedy Outsider',
    headline: 'Not connected to anyone',
    requestId: demoRequest('search-outsider'),
  });
  log(`search: "${QUERY}" as Ada (Grace's connection) and as Hedy (${outsider.userId}, outside her network)`);
  // Indexing runs on its own queue beside the feeds; wait until Grace's edit is searchable.
  const found = await apps.waitFor(
    "Grace's edited post in the search index",
    (async () => {
      for (;;) {
        const res = await feed.searchPosts({ viewerId: ada, query: QUERY, pageSize: 5 });
        const hit = res.hits.find((h) => h.post?.postId === postId && h.post.version >= 2);
        if (hit) return hit;
        await new Promise((r) => setTimeout(r, 250));
      }
    })(),
    { deadlineMs: SEARCH_DEADLINE_MS, on: ['worker-search', 'query'] },
  );
  log(`Ada finds Grace's post ${found.post!.postId} (v${found.post!.version}): ${found.snippet}`);
  const hedy = await feed.searchPosts({ viewerId: outsider.userId, query: QUERY, pageSize: 5 });
  const leaked = hedy.hits.some((h) => h.post?.postId === postId);
  if (leaked) throw new Error("Hedy was shown Grace's connections-only post");
  log(`Hedy finds ${hedy.hits.length} posts for "${QUERY}": Grace's post is for her connections only`);
}
