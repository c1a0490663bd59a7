import type { Db } from 'mongodb';
import type { Finding, FindingKind } from '../domain/findings';
import { feedItemId } from '../domain/ids';
import { DAY_MS } from '../domain/time';
import type { RebuildFeedInput, RebuildFeedResult, RepairResult } from '../pipeline/contracts/operations';
import { invalidateFeeds } from '../stores/feed-cache';
import { writeFeedItems } from '../stores/feed-items';
import { lookupFor } from '../stores/lookup';
import { type FeedItemDoc, readModel } from '../stores/read-model';
import { actorSnapshot, feedItem } from '../stores/read-model';
import { createReadTimeSources } from '../stores/read-time';
import { isConnected, loadPair } from '../stores/relations';
import { writeModel } from '../stores/write-model';
import type { ProjectionDeps } from './deps';
import { exclusionOf, expectedFeed, type ExpectedItem } from './expected-feed';

/** Writes expected items where the read model lacks them or holds another version or content. */
function createItemPutter(db: Db) {
  const rm = readModel(db);
  const ids = () => lookupFor(db);

  /** Loads each viewer's current item of this post, by id (point reads on FerretDB, `$in` on MongoDB). */
  async function itemsOf(postId: string, viewerIds: string[]): Promise<Map<string, FeedItemDoc>> {
    const docs = await (
      await ids()
    ).byIds(
      rm.feedItems,
      viewerIds.map((v) => feedItemId(v, postId)),
    );
    return new Map(docs.map((d) => [d.viewerId, d]));
  }

  /** Writes the expected items (new, or replacing a different version or content); returns the items written. */
  async function putItems(expected: ExpectedItem[]): Promise<Array<{ viewerId: string; postId: string }>> {
    const written: Array<{ viewerId: string; postId: string }> = [];
    const byPost = new Map<string, ExpectedItem[]>();
    for (const e of expected) byPost.set(e.post._id, [...(byPost.get(e.post._id) ?? []), e]);
    for (const [postId, group] of byPost) {
      const current = await itemsOf(
        postId,
        group.map((e) => e.viewerId),
      );
      const fresh: FeedItemDoc[] = [];
      for (const e of group) {
        const item = feedItem(e.post, e.actor, e.viewerId, e.reason, e.post.updatedAt, new Date(), e.scoredAs);
        const have = current.get(e.viewerId);
        if (!have) fresh.push(item);
        else if (have.version !== item.version || have.content !== item.content) {
          const { version, actor, type, content, mediaUrls, visibility } = item;
          await rm.feedItems.updateOne(
            { _id: item._id },
            { $set: { version, actor, type, content, mediaUrls, visibility } },
          );
          written.push({ viewerId: e.viewerId, postId });
        }
      }
      await writeFeedItems(rm, fresh);
      written.push(...fresh.map((f) => ({ viewerId: f.viewerId, postId })));
    }
    return written;
  }
  return putItems;
}

/** The activities of createRepairActivities, as workflows proxy them. */
export interface RepairActivities {
  repairPostItems(input: { postId: string; findings: Finding[] }): Promise<RepairResult>;
  rebuildFeed(input: RebuildFeedInput): Promise<RebuildFeedResult & { postIds: string[] }>;
}

/**
 * Repairing what a consistency check found, and rebuilding a member's feed. Every repair re-derives the truth from
 * the write model and the graph before it writes, so a stale finding repairs nothing and a repeat changes nothing.
 */
export function createRepairActivities({ db, graph, config }: ProjectionDeps): RepairActivities {
  const wm = writeModel(db);
  const rm = readModel(db);
  const readTime = createReadTimeSources(db, graph, {
    pullLookbackMs: config.PULL_LOOKBACK_DAYS * DAY_MS,
    secondDegreeAuthors: config.FEED_SECOND_DEGREE_AUTHORS,
  });

  const ids = () => lookupFor(db);
  const putItems = createItemPutter(db);

  return {
    /**
     * Repairs one post's findings (not `unscored`: the ranking queue scores those). Each item is re-derived from
     * the write model first, so a finding that no longer holds is left alone and counted as repaired.
     */
    async repairPostItems(input: { postId: string; findings: Finding[] }): Promise<RepairResult> {
      const { postId, findings } = input;
      const repaired: RepairResult['repaired'] = {};
      const count = (kind: FindingKind) => (repaired[kind] = (repaired[kind] ?? 0) + 1);
      const post = await wm.posts.findOne({ _id: postId });
      const touched = new Set(findings.map((f) => f.viewerId));
      if (!post || post.deleted) {
        await rm.feedItems.deleteMany({ postId });
        for (const f of findings) count(f.kind);
        await invalidateFeeds(db, [...touched], { postId, deleted: true });
        return { repaired, written: [] };
      }
      const put: ExpectedItem[] = [];
      const author = await wm.users.findOne({ _id: post.authorId });
      if (!author) throw new Error(`author ${post.authorId} of ${postId} not found; retrying`);
      const actor = actorSnapshot(author);
      for (const f of findings) {
        if (f.kind === 'blocked' || f.kind === 'not_visible') {
          if (await exclusionOf(wm, post, f.viewerId))
            await rm.feedItems.deleteOne({ _id: feedItemId(f.viewerId, postId) });
        } else if (f.kind === 'missing' || f.kind === 'stale') {
          if (!(await exclusionOf(wm, post, f.viewerId))) {
            const own = f.viewerId === post.authorId;
            const pair = own ? null : await loadPair(wm, f.viewerId, post.authorId);
            const rel = pair && isConnected(pair.connection) ? 'connection' : 'follow';
            put.push({ post, actor, viewerId: f.viewerId, reason: own ? 'own' : rel, scoredAs: own ? 'own' : rel });
          }
        } else if (f.kind !== 'unscored') continue;
        if (f.kind !== 'unscored') count(f.kind);
      }
      const written = await putItems(put);
      await invalidateFeeds(db, [...touched]);
      return { repaired, written };
    },

    /**
     * Rebuilds one member's feed from the write model and the graph: writes what is expected and missing or out of
     * date, removes everything else. The same derivation as the deep check, so a rebuilt feed checks clean. Also
     * counts what GetFeed merges beside the pushed items at read time, so the answer adds up to what it serves.
     */
    async rebuildFeed(input: RebuildFeedInput): Promise<RebuildFeedResult & { postIds: string[] }> {
      const { viewerId } = input;
      const user = await wm.users.findOne({ _id: viewerId }, { projection: { _id: 1 } });
      if (!user) return { viewerId, items: 0, written: 0, removed: 0, pulled: 0, discovery: 0, postIds: [] };
      const expected = await expectedFeed({ wm, rm, config }, viewerId);
      const want = new Set(expected.items.map((e) => e.post._id));
      const held = await rm.feedItems.find({ viewerId }, { projection: { _id: 1, postId: 1 } }).toArray();
      const extra = held.filter((h) => !want.has(h.postId)).map((h) => h._id);
      const removed = await (await ids()).deleteByIds(rm.feedItems, extra);
      const written = await putItems(expected.items);
      await invalidateFeeds(db, [viewerId]);
      const readTimeItems = await readTime.count(viewerId, want, config.FEED_WINDOW_SIZE);
      return {
        viewerId,
        items: expected.items.length,
        written: written.length,
        removed,
        ...readTimeItems,
        postIds: written.map((w) => w.postId),
      };
    },
  };
}
