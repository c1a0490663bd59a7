import { EDGE_ENDING_EVENTS } from '../domain/events';
import type { Finding, FindingKind } from '../domain/findings';
import { feedItemId } from '../domain/ids';
import { audienceScopeOf } from '../domain/visibility';
import type { CheckMembersInput, CheckRecentInput, CheckResult } from '../pipeline/contracts/operations';
import { lookupFor } from '../stores/lookup';
import { type FeedItemDoc, readModel } from '../stores/read-model';
import { isBlocked, loadPair, visibleTo } from '../stores/relations';
import type { PostDoc } from '../stores/write-model';
import { writeModel } from '../stores/write-model';
import type { ProjectionDeps } from './deps';
import { exclusionOf, expectedFeed } from './expected-feed';
import { heartbeat } from './heartbeat';

/** Findings listed per check run; more are counted and left to the next run, so payloads stay small. */
export const MAX_FINDINGS = 2_000;

type CheckedItem = Pick<
  FeedItemDoc,
  '_id' | 'viewerId' | 'postId' | 'version' | 'content' | 'visibility' | 'modelVersion' | 'projectedAt'
>;
const CHECKED = {
  _id: 1,
  viewerId: 1,
  postId: 1,
  version: 1,
  content: 1,
  visibility: 1,
  modelVersion: 1,
  projectedAt: 1,
};

/** A fan-out unfinished this long after its post was created is stuck, and its missing items are findings. */
const FANOUT_GRACE_MS = 3_600_000;

/** Posts (or pairs) whose items one read fetches. */
const POSTS_PER_READ = 200;

/** Collects findings once per item (the first kind found wins) up to MAX_FINDINGS. */
class Findings {
  readonly list: Finding[] = [];
  private readonly seen = new Set<string>();
  truncated = 0;
  add(kind: FindingKind, postId: string, viewerId: string): void {
    const key = feedItemId(viewerId, postId);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    if (this.list.length >= MAX_FINDINGS) this.truncated++;
    else this.list.push({ kind, postId, viewerId });
  }
}

const unscored = (item: CheckedItem, scoreWindowMs: number): boolean =>
  item.modelVersion === null && item.projectedAt.getTime() < Date.now() - scoreWindowMs;

/** The post checks: each post's items against its push audience now. */
function createPostChecks({ db, graph, config }: ProjectionDeps) {
  const ids = () => lookupFor(db);
  const wm = writeModel(db);
  const rm = readModel(db);

  /**
   * The post's push audience now, as the fan-out would compute it, the author included; `transition` while the
   * author's pull transition is still pushing to followers.
   */
  async function pushAudience(post: PostDoc): Promise<{ audience: Set<string>; transition: boolean }> {
    const audience = new Set([post.authorId]);
    if (post.visibility === 'private') return { audience, transition: false };
    const pull = await rm.pullAuthors.findOne({ _id: post.authorId }, { projection: { _id: 1, demoting: 1 } });
    const pulled = !!pull && !pull.demoting;
    const scope = audienceScopeOf(post.visibility, pulled);
    for (let cursor: string | null = ''; scope !== 'none' && cursor !== null;) {
      const page = await graph.audiencePage(post.authorId, scope, cursor, config.FANOUT_PAGE_SIZE);
      for (const m of page.members) audience.add(m.id);
      cursor = page.next;
    }
    const transition = !!pull?.demoting && pull.demoting.at.getTime() > Date.now() - FANOUT_GRACE_MS;
    return { audience, transition };
  }

  /** One post against its audience: missing, extra, stale and unscored items, or any item of a deleted post. */
  async function checkPost(postId: string, items: CheckedItem[], scoreWindowMs: number, out: Findings): Promise<void> {
    const [post, summary] = await Promise.all([
      wm.posts.findOne({ _id: postId }),
      rm.postSummaries.findOne({ _id: postId }, { projection: { fannedOut: 1 } }),
    ]);
    if (!post || post.deleted) {
      for (const i of items) out.add('deleted', postId, i.viewerId);
      return;
    }
    const { audience, transition } = await pushAudience(post);
    const held = new Set(items.map((i) => i.viewerId));
    // A fan-out or pull transition still writing is not drift; one unfinished past the grace period is.
    const delivering = transition || (!summary?.fannedOut && post.createdAt.getTime() > Date.now() - FANOUT_GRACE_MS);
    if (!delivering) for (const viewerId of audience) if (!held.has(viewerId)) out.add('missing', postId, viewerId);
    for (const item of items) {
      // Outside the push audience an item may still be right: a backfill, or a follower of a pull author.
      const excluded = audience.has(item.viewerId) ? null : await exclusionOf(wm, post, item.viewerId);
      if (excluded) out.add(excluded, postId, item.viewerId);
      else if (item.version !== post.version || item.content !== post.content) out.add('stale', postId, item.viewerId);
      else if (unscored(item, scoreWindowMs)) out.add('unscored', postId, item.viewerId);
    }
  }

  /** Checks posts a batch at a time; each post's items are one index read (`$in` on MongoDB). */
  async function checkPosts(postIds: string[], scoreWindowMs: number, out: Findings): Promise<void> {
    const lookup = await ids();
    for (let i = 0; i < postIds.length; i += POSTS_PER_READ) {
      const batch = postIds.slice(i, i + POSTS_PER_READ);
      const items = (await lookup.byValues(
        rm.feedItems,
        'postId',
        batch,
        {},
        { projection: CHECKED },
      )) as CheckedItem[];
      const byPost = new Map<string, CheckedItem[]>(batch.map((id) => [id, []]));
      for (const item of items) byPost.get(item.postId)?.push(item);
      for (const [postId, held] of byPost) {
        await checkPost(postId, held, scoreWindowMs, out);
        heartbeat({ postId });
      }
    }
  }

  return checkPosts;
}

/** The purge checks: what each member of a pair still holds of the other. */
function createPairChecks({ db }: Pick<ProjectionDeps, 'db'>) {
  const ids = () => lookupFor(db);
  const wm = writeModel(db);
  const rm = readModel(db);

  /** Purges are complete when neither member of a pair holds an item of the other that the pair no longer allows. */
  async function checkPairs(pairs: Array<[string, string]>, out: Findings): Promise<void> {
    const lookup = await ids();
    for (let i = 0; i < pairs.length; i += POSTS_PER_READ) {
      const batch = pairs.slice(i, i + POSTS_PER_READ);
      const viewers = [...new Set(batch.flat())];
      const items = await lookup.byValues(
        rm.feedItems,
        'viewerId',
        viewers,
        {},
        { projection: { viewerId: 1, postId: 1, visibility: 1, 'actor.id': 1 } },
      );
      for (const [a, b] of batch) {
        const pair = await loadPair(wm, a, b);
        for (const [viewer, author] of [
          [a, b],
          [b, a],
        ]) {
          const allowed = visibleTo(pair, viewer, author) as string[];
          for (const i of items) {
            if (i.viewerId !== viewer || i.actor.id !== author || allowed.includes(i.visibility)) continue;
            out.add(isBlocked(pair) ? 'blocked' : 'not_visible', i.postId, viewer);
          }
        }
        heartbeat({ pair: [a, b] });
      }
    }
  }

  return checkPairs;
}

/** The activities of createConsistencyActivities, as workflows proxy them. */
export interface ConsistencyActivities {
  checkPosts(input: { postIds: string[]; scoreWindowMs: number }): Promise<CheckResult>;
  checkRecentEvents(input: CheckRecentInput): Promise<CheckResult>;
  checkMemberFeeds(input: CheckMembersInput): Promise<CheckResult>;
}

/**
 * Checking the read models against the write model and the graph, and repairing what drifted. Checks only read;
 * repairs re-derive the truth before they write, so a stale finding repairs nothing and a repeat changes nothing.
 */
export function createConsistencyActivities(deps: ProjectionDeps): ConsistencyActivities {
  const { config } = deps;
  const wm = writeModel(deps.db);
  const rm = readModel(deps.db);
  const checkPosts = createPostChecks(deps);
  const checkPairs = createPairChecks(deps);

  return {
    /** Checks these posts as the recent-events check does (a replay's reconcile). */
    async checkPosts(input: { postIds: string[]; scoreWindowMs: number }): Promise<CheckResult> {
      const out = new Findings();
      await checkPosts(input.postIds, input.scoreWindowMs, out);
      return { eventsChecked: 0, membersChecked: 0, findings: out.list, truncated: out.truncated };
    },

    /** The recent-events check: every post and purge event in the window, checked against the read model. */
    async checkRecentEvents(input: CheckRecentInput): Promise<CheckResult> {
      const until = new Date(input.until);
      const since = new Date(until.getTime() - input.windowMs);
      const events = await wm.events
        .find(
          { at: { $gte: since, $lte: until } },
          { projection: { type: 1, aggregateType: 1, aggregateId: 1, payload: 1 } },
        )
        .toArray();
      const posts = new Set<string>();
      const pairs = new Map<string, [string, string]>();
      for (const ev of events) {
        if (ev.aggregateType === 'post') posts.add(ev.aggregateId);
        if (EDGE_ENDING_EVENTS.has(ev.type)) {
          const [a, b] = [String(ev.payload.from), String(ev.payload.to)].sort();
          pairs.set(`${a}/${b}`, [a, b]);
        }
      }
      const out = new Findings();
      await checkPosts([...posts], input.scoreWindowMs, out);
      await checkPairs([...pairs.values()], out);
      return { eventsChecked: events.length, membersChecked: 0, findings: out.list, truncated: out.truncated };
    },

    /**
     * The deep check: each sampled member's feed rebuilt in memory from the write model and the graph, and diffed
     * against the read model, pushed items only, up to the cap.
     */
    async checkMemberFeeds(input: CheckMembersInput): Promise<CheckResult> {
      let viewerIds = input.viewerIds;
      if (!viewerIds?.length) {
        const all = await wm.users.find({}, { projection: { _id: 1 } }).toArray();
        viewerIds = sample(
          all.map((u) => u._id),
          input.sample,
        );
      }
      const out = new Findings();
      for (const [n, viewerId] of viewerIds.entries()) {
        const expected = await expectedFeed({ wm, rm, config }, viewerId);
        const want = new Map(expected.items.map((e) => [e.post._id, e]));
        const items = (await rm.feedItems.find({ viewerId }, { projection: CHECKED }).toArray()) as CheckedItem[];
        const held = new Set(items.map((i) => i.postId));
        for (const e of expected.items) if (!held.has(e.post._id)) out.add('missing', e.post._id, viewerId);
        for (const item of items) {
          const e = want.get(item.postId);
          const post = e?.post ?? (await wm.posts.findOne({ _id: item.postId }));
          if (!post || post.deleted) out.add('deleted', item.postId, viewerId);
          else if (!e) {
            const excluded = await exclusionOf(wm, post, viewerId);
            if (excluded) out.add(excluded, item.postId, viewerId);
          } else if (item.version !== post.version || item.content !== post.content) {
            out.add('stale', item.postId, viewerId);
          } else if (unscored(item, input.scoreWindowMs)) out.add('unscored', item.postId, viewerId);
        }
        heartbeat({ done: n + 1 });
      }
      return { eventsChecked: 0, membersChecked: viewerIds.length, findings: out.list, truncated: out.truncated };
    },
  };
}

/** Up to n distinct members, uniformly. */
function sample<T>(all: T[], n: number): T[] {
  const copy = [...all];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, n);
}
