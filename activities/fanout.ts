import { Context } from '@temporalio/activity';
import type { Db } from 'mongodb';
import { type AudienceScope, audienceScopeOf } from '../domain/visibility';
import type {
  FanoutPlan,
  FanoutSliceInput,
  FanoutSliceResult,
  ProjectionInput,
} from '../pipeline/contracts/projection';
import { invalidateFeeds } from '../stores/feed-cache';
import { deletePostItems, refreshActorItems, updatePostItems, writeFeedItems } from '../stores/feed-items';
import { upsertPostSummary } from '../stores/post-summaries';
import { requirePost, requireUser } from '../stores/projection-sources';
import { readModel } from '../stores/read-model';
import { actorSnapshot, feedItem } from '../stores/read-model';
import { writeModel } from '../stores/write-model';
import type { ProjectionDeps } from './deps';
import { heartbeat, lastHeartbeat, whileHeartbeating } from './heartbeat';

/** Audience pages per graph read in a slice. */
const GRAPH_PAGES_PER_READ = 5;

/** What a slice reports in its heartbeats, so a retried slice resumes after the last page it wrote. */
interface SliceCheckpoint {
  cursor: string;
  pages: number;
  written: number;
}

export interface FanoutStart {
  plan: FanoutPlan;
  /** Where the slices continue after the first page, or null when it was the whole audience. */
  cursor: string | null;
  pages: number;
  /** Items written, the author's own included. */
  written: number;
}

export interface FanoutFinish {
  purged: number;
  updated: number;
  refreshed: number;
}

async function fanoutSlice({ db, graph, config }: ProjectionDeps, req: FanoutSliceInput): Promise<FanoutSliceResult> {
  const wm = writeModel(db);
  const rm = readModel(db);
  const ctx = Context.current();
  const resumed = lastHeartbeat<SliceCheckpoint>();
  let { cursor, pages, written } = resumed ?? { cursor: req.cursor, pages: 0, written: 0 };
  const post = await wm.posts.findOne({ _id: req.postId });
  if (!post || post.deleted) return { cursor, pages, written, deleted: true };
  const author = await wm.users.findOne({ _id: post.authorId });
  if (!author) throw new Error(`author ${post.authorId} of post ${post._id} not found; retrying`);
  const actor = actorSnapshot(author);
  const acceptedAt = new Date(req.acceptedAt);

  // The graph is read GRAPH_PAGES_PER_READ pages at a time (each read ranks the rest of the audience, so fewer,
  // larger reads cost less), one read ahead, while the pages are written.
  const fetch = (after: string) => {
    const p = graph.audiencePage(req.authorId, req.scope, after, config.FANOUT_PAGE_SIZE * GRAPH_PAGES_PER_READ);
    p.catch(() => undefined); // awaited below; this only keeps an early rejection from going unhandled
    return p;
  };
  let next = fetch(cursor);
  for (;;) {
    const batch = await next;
    const chunks = Math.max(1, Math.ceil(batch.members.length / config.FANOUT_PAGE_SIZE));
    const more = batch.next !== null && pages + chunks < req.maxPages;
    if (more) next = fetch(batch.next!);
    for (let c = 0; c < chunks; c++) {
      ctx.cancellationSignal.throwIfAborted();
      const members = batch.members.slice(c * config.FANOUT_PAGE_SIZE, (c + 1) * config.FANOUT_PAGE_SIZE);
      const projectedAt = new Date();
      await writeFeedItems(
        rm,
        members.map((m) => feedItem(post, actor, m.id, m.reason, acceptedAt, projectedAt)),
      );
      await invalidateFeeds(
        db,
        members.map((m) => m.id),
      );
      pages++;
      written += members.length;
      // Resume after the last id examined: the read's cursor after its last page, else the last member written.
      cursor = c === chunks - 1 ? (batch.next ?? cursor) : members[members.length - 1].id;
      heartbeat({ cursor, pages, written } satisfies SliceCheckpoint);
    }
    if (!more) return { cursor: batch.next, pages, written, deleted: false };
  }
}

async function finishFanout(db: Db, plan: FanoutPlan): Promise<FanoutFinish> {
  const wm = writeModel(db);
  const rm = readModel(db);
  const result: FanoutFinish = { purged: 0, updated: 0, refreshed: 0 };
  const post = await wm.posts.findOne({ _id: plan.postId });
  if (!post || post.deleted) {
    result.purged = await whileHeartbeating(deletePostItems(rm, plan.postId));
    await invalidateFeeds(db, [], { postId: plan.postId, deleted: true });
    return result;
  }
  if (post.version > plan.version) {
    const { version, type, content, mediaUrls, visibility } = post;
    const now = new Date();
    result.updated = await whileHeartbeating(
      updatePostItems(rm, post._id, {
        version,
        type,
        content,
        mediaUrls: mediaUrls ?? [],
        visibility,
        acceptedAt: post.updatedAt,
        projectedAt: now,
      }),
    );
  }
  const author = await wm.users.findOne({ _id: post.authorId });
  if (author && author.version > plan.actorVersion) {
    result.refreshed = await whileHeartbeating(refreshActorItems(rm, actorSnapshot(author)));
  }
  if (result.updated + result.refreshed > 0) await invalidateFeeds(db, [], { postId: plan.postId });
  // Until this mark a consistency check takes missing items for a delivery still under way.
  await rm.postSummaries.updateOne({ _id: plan.postId }, { $set: { fannedOut: true } });
  return result;
}

async function startFanout({ db, graph, config }: ProjectionDeps, input: ProjectionInput): Promise<FanoutStart> {
  const wm = writeModel(db);
  const rm = readModel(db);
  const postId = input.postId ?? input.aggregateId;
  // The author is the event's actor: load both at once, check after.
  const [post, author, wasPull] = await Promise.all([
    requirePost(wm, input, postId, input.version),
    wm.users.findOne({ _id: input.actorId }),
    rm.pullAuthors.findOne({ _id: input.actorId }, { projection: { _id: 1, updatedAt: 1, demoting: 1 } }),
  ]);
  const base = { postId, authorId: post.authorId, version: post.version, actorVersion: 0 };
  if (post.deleted) {
    const plan: FanoutPlan = { ...base, scope: 'none', audienceSize: 0, pullAuthor: false, skipped: 'deleted' };
    return { plan, cursor: null, pages: 0, written: 0 };
  }
  const actor = actorSnapshot(author?._id === post.authorId ? author : await requireUser(wm, input, post.authorId));
  // The first page is read alongside the sizes, guessing the author's pull status from last time; the rare
  // author crossing the threshold has it read again.
  const scopeFor = (pull: boolean): AudienceScope => audienceScopeOf(post.visibility, pull);
  const firstPage = (scope: AudienceScope) =>
    scope === 'none'
      ? Promise.resolve({ members: [], next: null })
      : graph.audiencePage(post.authorId, scope, '', config.FANOUT_PAGE_SIZE);
  // A demoting author's posts are pushed to followers again.
  const guess = scopeFor(!!wasPull && !wasPull.demoting);
  const [sizes, guessed] = await Promise.all([graph.audienceSize(post.authorId), firstPage(guess)]);
  const pullAuthor = sizes.followers > config.PULL_AUTHOR_THRESHOLD;
  const scope = scopeFor(pullAuthor);
  const page = scope === guess ? guessed : await firstPage(scope);
  const audienceSize = scope === 'none' ? 0 : scope === 'connections' ? sizes.connections : sizes.total;
  const plan: FanoutPlan = { ...base, actorVersion: actor.version, scope, audienceSize, pullAuthor };
  if (wasPull && !pullAuthor) {
    plan.demotion = {
      authorId: post.authorId,
      stamp: wasPull.updatedAt.getTime(),
      at: (wasPull.demoting?.at ?? post.createdAt).toISOString(),
    };
  }

  const acceptedAt = new Date(input.acceptedAt);
  const projectedAt = new Date();
  await writeFeedItems(rm, [
    feedItem(post, actor, post.authorId, 'own', acceptedAt, projectedAt),
    ...page.members.map((m) => feedItem(post, actor, m.id, m.reason, acceptedAt, projectedAt)),
  ]);
  const viewerIds = page.members.map((m) => m.id);
  // A pull author's followers pull the post at read time: their cached first pages must go.
  await invalidateFeeds(db, [post.authorId, ...viewerIds], pullAuthor ? { pullPost: post.authorId } : {});

  await graph.ensureUsers([post.authorId]);
  if (pullAuthor) {
    // A new updatedAt also tells a running demotion that the author is pull again: it keeps the record.
    const res = await rm.pullAuthors.updateOne(
      { _id: post.authorId },
      {
        $set: { followers: sizes.followers, updatedAt: new Date() },
        $unset: { demoting: '' },
        $setOnInsert: { since: post.createdAt },
      },
      { upsert: true },
    );
    // A new pull author: every cached per-viewer state (which names the pull authors a viewer follows) is stale.
    if (res.upsertedCount) await invalidateFeeds(db, [], { pullSet: true });
  } else if (wasPull && !wasPull.demoting) {
    // The record stays, so followers keep pulling, until the pull transition has pushed the recent posts.
    await rm.pullAuthors.updateOne(
      { _id: post.authorId, updatedAt: wasPull.updatedAt },
      { $set: { demoting: { at: post.createdAt } } },
    );
  }
  await upsertPostSummary(rm, {
    _id: postId,
    authorId: post.authorId,
    version: post.version,
    visibility: post.visibility,
    createdAt: post.createdAt,
    deleted: false,
    audienceSize,
  });
  return {
    plan,
    cursor: page.next,
    pages: scope === 'none' ? 0 : 1,
    written: 1 + page.members.length,
  };
}

/** The activities of createFanoutActivities, as workflows proxy them. */
export interface FanoutActivities {
  startFanout(input: ProjectionInput): Promise<FanoutStart>;
  fanoutSlice(req: FanoutSliceInput): Promise<FanoutSliceResult>;
  finishFanout(plan: FanoutPlan): Promise<FanoutFinish>;
}

/** Post-created fan-out: the first page at once, the rest slice by slice, then a reconcile. */
export function createFanoutActivities(deps: ProjectionDeps): FanoutActivities {
  return {
    /**
     * The fan-out's first step, run as a local activity for latency: loads the post and author, writes the
     * author's own item and the first page of the audience in one batch, then records a pull author (or marks one
     * that fell back under the threshold as demoting, for the workflow to start its pull transition) and the post's
     * summary. For audiences up to a page this is the whole delivery. Idempotent: every write is keyed and guarded.
     */
    async startFanout(input: ProjectionInput): Promise<FanoutStart> {
      return startFanout(deps, input);
    },

    /**
     * Writes about `maxPages` pages of the audience, one bulk write and one heartbeat per page, the next graph read
     * overlapping the writes. A retry resumes from the last heartbeat.
     */
    async fanoutSlice(req: FanoutSliceInput): Promise<FanoutSliceResult> {
      return fanoutSlice(deps, req);
    },

    /**
     * Reconciles with anything that happened while paging: a delete purges what the pages wrote, a newer post
     * version or profile moves the written items forward. Cheap when nothing changed (two reads by id).
     */
    async finishFanout(plan: FanoutPlan): Promise<FanoutFinish> {
      return finishFanout(deps.db, plan);
    },
  };
}
