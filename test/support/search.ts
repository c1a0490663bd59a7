import type { Client } from '@opensearch-project/opensearch';
import type { NativeConnection } from '@temporalio/worker';
import { createSearchActivities } from '../../activities/search';
import { searchAliasOf } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { TASK_QUEUES } from '../../pipeline/queues';
import { connectSearch, createSearchIndex, type SearchIndex } from '../../stores/search';
import type { TestStores } from './env';
import { waitFor } from './wait';
import { runWorkers, type RunningWorkers } from './workers';

export interface SearchWorker extends RunningWorkers {
  client: Client;
  search: SearchIndex;
  /** Waits until the index holds the post at this version (a tombstone for a delete), then makes it searchable. */
  indexed(postId: string, version: number): Promise<void>;
}

/**
 * A search worker in this process on the suite's prefix, over the suite's own alias (`{database}-posts`), which
 * `stop()` deletes with its indices.
 */
export async function runSearchWorker(
  connection: NativeConnection,
  stores: TestStores,
  prefix: string,
): Promise<SearchWorker> {
  const client = connectSearch({ ...stores.config, SEARCH_TIMEOUT_MS: 10_000 });
  const search = createSearchIndex(client, searchAliasOf(stores.config));
  await search.ensure();
  const logger = createLogger('search-test', process.env.TEST_LOG_LEVEL ?? 'silent');
  const activities = createSearchActivities({ db: stores.db, search, logger });
  const workers = await runWorkers(
    connection,
    stores.config.TEMPORAL_NAMESPACE,
    [prefix + TASK_QUEUES.search],
    activities,
  );
  return {
    client,
    search,
    async indexed(postId, version) {
      await waitFor(async () => (await search.versions([postId])).get(postId)?.version === version, {
        message: `${postId} v${version} in the search index`,
        timeoutMs: 60_000,
      });
      await search.refresh();
    },
    async stop() {
      await workers.stop();
      await client.indices.delete({ index: `${search.alias}-*`, ignore_unavailable: true } as never).catch(() => {});
      await client.close();
    },
  };
}
