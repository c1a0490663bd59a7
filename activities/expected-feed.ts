import type { PushedReason, ScoringReason } from '../domain/reasons';
import { DAY_MS } from '../domain/time';
import { NO_RELATION, pushedVisibilities } from '../domain/visibility';
import type { Config } from '../lib/config';
import { type IdLookup, lookupFor } from '../stores/lookup';
import { type ActorSnapshot, actorSnapshot, type ReadModel } from '../stores/read-model';
import { isBlocked, loadPair, type PairState, visibleTo } from '../stores/relations';
import { newestFirst, type PostDoc, type RelationshipDoc, type UserDoc, type WriteModel } from '../stores/write-model';
import { BACKFILL_DAYS, BACKFILL_LIMIT } from './relationships';

const CONNECTED = { ...NO_RELATION, connected: true };
const FOLLOWING = { ...NO_RELATION, follows: true };

/** One item a member's feed should hold, with the reason the pipeline would have delivered it for. */
export interface ExpectedItem {
  post: PostDoc;
  actor: ActorSnapshot;
  viewerId: string;
  reason: PushedReason;
  scoredAs: ScoringReason;
}

/** A relationship that lets the viewer see an author's posts, and since when. */
interface Grant {
  kind: 'connection' | 'follow';
  visibilities: Array<PostDoc['visibility']>;
  since: Date;
  /**
   * Posts after `since` are pushed, except in these spans of creation times: an author's pull periods, whose posts
   * followers pulled at read time, less what the pull transition that ended each period pushed.
   */
  unpushed: Span[];
}

/** Creation times [from, to) in ms. */
interface Span {
  from: number;
  to: number;
}

/** Every member the viewer stands in a relationship with, and the pair's documents. */
async function pairsOf(lookup: IdLookup, wm: WriteModel, viewerId: string): Promise<Map<string, PairState>> {
  // Either side by its own equality read (FerretDB pushes down no `$or`).
  const rels = (
    await Promise.all(
      (['from', 'to'] as const).map((side) => lookup.byValues(wm.relationships, side, [viewerId], { active: true })),
    )
  ).flat();
  const pairs = new Map<string, PairState>();
  const pairOf = (other: string) => {
    let p = pairs.get(other);
    if (!p)
      pairs.set(other, (p = { connection: null, follows: { ab: null, ba: null }, blocks: { ab: null, ba: null } }));
    return p;
  };
  for (const r of rels) {
    const other = r.from === viewerId ? r.to : r.from;
    const p = pairOf(other);
    const mine = r.from === viewerId;
    if (r.type === 'connection') p.connection = r;
    else if (r.type === 'follow') p.follows[mine ? 'ab' : 'ba'] = r;
    else p.blocks[mine ? 'ab' : 'ba'] = r;
  }
  return pairs;
}

async function unpushedSpans(lookup: IdLookup, rm: ReadModel, followees: string[]): Promise<Map<string, Span[]>> {
  // Pull periods as the fan-outs and pull transitions recorded them: one read of each for every followee.
  const unpushed = new Map<string, Span[]>();
  if (followees.length) {
    const [records, gaps] = await Promise.all([
      lookup.byIds(rm.pullAuthors, followees, { _id: 1, since: 1 }),
      lookup.byValues(rm.pullGaps, 'authorId', followees),
    ]);
    const add = (author: string, span: Span) => unpushed.set(author, [...(unpushed.get(author) ?? []), span]);
    // A current pull period is open-ended; records older than `since` cover everything.
    for (const r of records) add(r._id, { from: r.since?.getTime() ?? 0, to: Infinity });
    for (const g of gaps) add(g.authorId, { from: g.from.getTime(), to: g.to.getTime() });
  }
  return unpushed;
}

/**
 * The feed the projections would have built for a member, derived from the write model (and the pull periods the
 * fan-outs and pull transitions recorded): their own posts; for each author they are connected to or follow, the
 * posts pushed since the relationship began (for a follow, none a pull period left to be pulled) plus the backfill
 * of the 7 days before it (at most 200); nothing across a block; newest first, up to the cap. Used by the deep check
 * to diff a feed and by RebuildFeed to restore one.
 */
export async function expectedFeed(
  deps: { wm: WriteModel; rm: ReadModel; config: Pick<Config, 'FEED_CAP'> },
  viewerId: string,
): Promise<{ items: ExpectedItem[] }> {
  const { wm, rm, config } = deps;
  const lookup = await lookupFor(wm.posts.db);
  const pairs = await pairsOf(lookup, wm, viewerId);
  const followees = [...pairs].filter(([, p]) => p.follows.ab).map(([author]) => author);
  const unpushed = await unpushedSpans(lookup, rm, followees);
  // Each relationship grants what the visibility rule pushes for it alone; a viewer holds the union of their grants.
  const grants = new Map<string, Grant[]>();
  for (const [author, p] of pairs) {
    if (isBlocked(p)) continue;
    const list: Grant[] = [];
    const c = p.connection;
    if (c?.status === 'accepted') {
      list.push({ kind: 'connection', visibilities: pushedVisibilities(CONNECTED), since: c.updatedAt, unpushed: [] });
    }
    const f: RelationshipDoc | null = p.follows.ab;
    if (f) {
      const visibilities = pushedVisibilities(FOLLOWING);
      list.push({ kind: 'follow', visibilities, since: f.updatedAt, unpushed: unpushed.get(author) ?? [] });
    }
    if (list.length) grants.set(author, list);
  }

  const authors = [viewerId, ...grants.keys()];
  const [posts, users] = await Promise.all([
    lookup.byValues(wm.posts, 'authorId', authors, { deleted: false }),
    lookup.byIds(wm.users, authors),
  ]);
  const actors = new Map(users.map((u: UserDoc) => [u._id, actorSnapshot(u)]));
  const byAuthor = new Map<string, PostDoc[]>();
  for (const post of posts) byAuthor.set(post.authorId, [...(byAuthor.get(post.authorId) ?? []), post]);

  const items: ExpectedItem[] = [];
  for (const post of byAuthor.get(viewerId) ?? []) {
    const actor = actors.get(viewerId);
    if (actor) items.push({ post, actor, viewerId, reason: 'own', scoredAs: 'own' });
  }
  for (const [author, list] of grants) {
    const actor = actors.get(author);
    if (!actor) continue;
    const chosen = new Map<string, ExpectedItem>();
    for (const g of list) {
      const visible = (byAuthor.get(author) ?? [])
        .filter((post) => g.visibilities.includes(post.visibility))
        .sort(newestFirst);
      const pushed = visible.filter((post) => {
        const t = post.createdAt.getTime();
        return post.createdAt >= g.since && !g.unpushed.some((s) => t >= s.from && t < s.to);
      });
      const window = g.since.getTime() - BACKFILL_DAYS * DAY_MS;
      const backfilled = visible
        .filter((post) => post.createdAt < g.since && post.createdAt.getTime() >= window)
        .slice(0, BACKFILL_LIMIT);
      for (const post of pushed) {
        if (!chosen.has(post._id)) chosen.set(post._id, { post, actor, viewerId, reason: g.kind, scoredAs: g.kind });
      }
      for (const post of backfilled) {
        if (!chosen.has(post._id)) {
          chosen.set(post._id, { post, actor, viewerId, reason: 'backfill', scoredAs: list[0].kind });
        }
      }
    }
    items.push(...chosen.values());
  }
  items.sort((a, b) => newestFirst(a.post, b.post));
  return { items: items.slice(0, config.FEED_CAP) };
}

/** Why the viewer may not hold this post's item now (blocked either way, or not visible to them), or null. */
export async function exclusionOf(
  wm: WriteModel,
  post: PostDoc,
  viewerId: string,
): Promise<'blocked' | 'not_visible' | null> {
  if (viewerId === post.authorId) return null;
  if (post.visibility === 'private') return 'not_visible';
  const pair = await loadPair(wm, viewerId, post.authorId);
  if (isBlocked(pair)) return 'blocked';
  return visibleTo(pair, viewerId, post.authorId).includes(post.visibility) ? null : 'not_visible';
}
