import type { Collection, Document } from 'mongodb';
import { lookupFor } from './lookup';
import { type PostDoc, type WriteModel } from './write-model';
import { CONNECTION_STRENGTH, type Degree, type FeatureInputs } from '../ranking/schema';
import { connectionId, followId } from '../domain/ids';

/**
 * Assembles the engagement model's inputs for a batch of (viewer, post) pairs from the write model, in a fixed
 * number of batched `$in` queries whatever the batch size (three rounds, at most seven queries). The write model
 * is the stable source; once the read models carry counters, a cheaper assembly can replace this one behind the
 * same result type.
 */

export interface ScoringPair {
  viewerId: string;
  postId: string;
}

export interface AssembledPair extends ScoringPair {
  authorId: string;
  inputs: FeatureInputs;
}

export type SkipReason = 'post-missing' | 'post-deleted';

export interface Assembly {
  rows: AssembledPair[];
  /** Pairs that cannot be scored at all; a deleted post's items are purged by its own workflow. */
  skipped: Array<ScoringPair & { reason: SkipReason }>;
}

export interface AssemblyOptions {
  /** The scoring time: post age is measured to it, and engagements after it are not counted. */
  at: Date;
  /** Window of the author's posts for the author's engagement rate. */
  authorWindowDays?: number;
  /** Window of the author's posts for the viewer's past interactions with the author. */
  interactionWindowDays?: number;
}

const ENGAGING = ['like', 'comment', 'share'] as const;
type Engaging = (typeof ENGAGING)[number];
const DAY_MS = 86_400_000;
/** The author's engagement rate reads at most this many of their latest posts. */
export const RATE_POSTS = 50;
const pairKey = (a: string, b: string) => `${a}\u0000${b}`;

interface Relation {
  strength: number;
  degree: Degree;
}

/** Whether two members have a connection in common. */
function sharesAny(a: Set<string> | undefined, b: Set<string> | undefined): boolean {
  if (!a || !b) return false;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const m of small) if (large.has(m)) return true;
  return false;
}

export async function assembleFeatureInputs(
  wm: WriteModel,
  pairs: readonly ScoringPair[],
  opts: AssemblyOptions,
): Promise<Assembly> {
  const at = opts.at;
  const authorSince = new Date(at.getTime() - (opts.authorWindowDays ?? 30) * DAY_MS);
  const interactionSince = new Date(at.getTime() - (opts.interactionWindowDays ?? 90) * DAY_MS);
  if (pairs.length === 0) return { rows: [], skipped: [] };

  // Round 1: the posts.
  const postIds = [...new Set(pairs.map((p) => p.postId))];
  const posts = new Map<
    string,
    Pick<PostDoc, '_id' | 'authorId' | 'type' | 'mediaUrls' | 'content' | 'createdAt' | 'deleted'>
  >();
  // Every read is one `$in` on MongoDB and index reads per value on FerretDB (stores/lookup.ts).
  const lookup = await lookupFor(wm.posts.db);
  for (const p of await lookup.byIds(wm.posts, postIds, {
    authorId: 1,
    type: 1,
    mediaUrls: 1,
    content: 1,
    createdAt: 1,
    deleted: 1,
  })) {
    posts.set(p._id, p);
  }
  const skipped: Assembly['skipped'] = [];
  const live: Array<ScoringPair & { authorId: string }> = [];
  for (const pair of pairs) {
    const post = posts.get(pair.postId);
    if (!post) skipped.push({ ...pair, reason: 'post-missing' });
    else if (post.deleted) skipped.push({ ...pair, reason: 'post-deleted' });
    else live.push({ ...pair, authorId: post.authorId });
  }
  const viewers = [...new Set(live.map((p) => p.viewerId))];
  const authors = [...new Set(live.map((p) => p.authorId))];
  const relPairs = [...new Map(live.map((p) => [pairKey(p.viewerId, p.authorId), p])).values()];

  // Round 2: direct relationships by their deterministic ids, follower counts, the authors' recent posts.
  const relationships = wm.relationships as unknown as Collection<Document>;
  const engagements = wm.engagements as unknown as Collection<Document>;
  const [relDocs, followerCounts, authorPosts] = await Promise.all([
    lookup
      .byIds(
        wm.relationships,
        relPairs.flatMap((p) => [
          connectionId(p.viewerId, p.authorId),
          followId(p.viewerId, p.authorId),
          followId(p.authorId, p.viewerId),
        ]),
        { type: 1, from: 1, to: 1, status: 1, active: 1 },
      )
      .then((docs) => docs.filter((d) => d.active)),
    lookup.aggregateByValues<{ _id: string; n: number }>(
      relationships,
      'to',
      authors,
      { type: 'follow', active: true },
      [{ $group: { _id: '$to', n: { $sum: 1 } } }],
    ),
    lookup.byValues(
      wm.posts,
      'authorId',
      authors,
      { deleted: false, createdAt: { $gte: interactionSince, $lte: at } },
      { projection: { authorId: 1, createdAt: 1 } },
    ),
  ]);

  const active = new Set(relDocs.filter((r) => r.type !== 'connection' || r.status === 'accepted').map((r) => r._id));
  const relations = new Map<string, Relation>();
  const unresolved: typeof relPairs = [];
  for (const p of relPairs) {
    const key = pairKey(p.viewerId, p.authorId);
    if (p.viewerId === p.authorId || active.has(connectionId(p.viewerId, p.authorId))) {
      // The author's own post in their own feed scores as the closest relationship.
      relations.set(key, { strength: CONNECTION_STRENGTH.connected, degree: 'first' });
    } else if (active.has(followId(p.viewerId, p.authorId))) {
      relations.set(key, { strength: CONNECTION_STRENGTH.viewerFollows, degree: 'follow' });
    } else if (active.has(followId(p.authorId, p.viewerId))) {
      relations.set(key, { strength: CONNECTION_STRENGTH.authorFollows, degree: 'follow' });
    } else {
      unresolved.push(p);
    }
  }
  const postAuthor = new Map(authorPosts.map((p) => [p._id, p.authorId]));
  // The rate reads each author's latest posts only, so a prolific author costs no more than RATE_POSTS.
  const recentByAuthor = new Map<string, string[]>();
  for (const p of [...authorPosts].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())) {
    if (p.createdAt < authorSince) continue;
    const ids = recentByAuthor.get(p.authorId) ?? [];
    if (ids.length < RATE_POSTS) recentByAuthor.set(p.authorId, [...ids, p._id]);
  }
  const recentPostIds = [...recentByAuthor.values()].flat();

  // Round 3: second degree for pairs without a direct edge, engagement counts, the viewers' past interactions.
  const connectionsOf = unresolved.length ? [...new Set(unresolved.flatMap((p) => [p.viewerId, p.authorId]))] : [];
  const [connDocs, counts, interactions] = await Promise.all([
    // Either side of an accepted connection; a connection between two of them comes twice, which linking ignores.
    Promise.all(
      (['from', 'to'] as const).map((side) =>
        lookup.byValues(
          wm.relationships,
          side,
          connectionsOf,
          { type: 'connection', status: 'accepted', active: true },
          { projection: { from: 1, to: 1 } },
        ),
      ),
    ).then((sides) => sides.flat()),
    lookup.aggregateByValues<{ _id: { postId: string; kind: Engaging }; n: number }>(
      engagements,
      'postId',
      [...new Set([...postIds, ...recentPostIds])],
      { kind: { $in: [...ENGAGING] }, createdAt: { $lte: at } },
      [{ $group: { _id: { postId: '$postId', kind: '$kind' }, n: { $sum: 1 } } }],
    ),
    // By viewer (the user_recent index), not by the authors' posts: a viewer list is bounded by the batch.
    authorPosts.length
      ? lookup.aggregateByValues<{ _id: { userId: string; postId: string }; n: number }>(
          engagements,
          'userId',
          viewers,
          { kind: { $in: [...ENGAGING] }, createdAt: { $gte: interactionSince, $lte: at } },
          [{ $group: { _id: { userId: '$userId', postId: '$postId' }, n: { $sum: 1 } } }],
        )
      : Promise.resolve([]),
  ]);

  const neighbours = new Map<string, Set<string>>();
  const link = (a: string, b: string) => {
    let s = neighbours.get(a);
    if (!s) neighbours.set(a, (s = new Set()));
    s.add(b);
  };
  for (const c of connDocs) {
    link(c.from, c.to);
    link(c.to, c.from);
  }
  for (const p of unresolved) {
    const second = sharesAny(neighbours.get(p.viewerId), neighbours.get(p.authorId));
    relations.set(
      pairKey(p.viewerId, p.authorId),
      second ? { strength: CONNECTION_STRENGTH.second, degree: 'second' } : { strength: 0, degree: 'none' },
    );
  }

  const postCounts = new Map<string, Record<Engaging, number>>();
  for (const c of counts) {
    let r = postCounts.get(c._id.postId);
    if (!r) postCounts.set(c._id.postId, (r = { like: 0, comment: 0, share: 0 }));
    r[c._id.kind] += c.n;
  }
  const total = (postId: string) => {
    const r = postCounts.get(postId);
    return r ? r.like + r.comment + r.share : 0;
  };
  const authorTotals = new Map<string, { posts: number; engagements: number }>();
  for (const id of recentPostIds) {
    const a = postAuthor.get(id) as string;
    const t = authorTotals.get(a) ?? { posts: 0, engagements: 0 };
    t.posts += 1;
    t.engagements += total(id);
    authorTotals.set(a, t);
  }
  const viewerAuthor = new Map<string, number>();
  const viewerPost = new Map<string, number>();
  for (const i of interactions) {
    const author = postAuthor.get(i._id.postId);
    if (author === undefined) continue; // another author's post, or older than the window
    const k = pairKey(i._id.userId, author);
    viewerAuthor.set(k, (viewerAuthor.get(k) ?? 0) + i.n);
    viewerPost.set(pairKey(i._id.userId, i._id.postId), i.n);
  }
  const followers = new Map(followerCounts.map((f) => [f._id, f.n]));

  const rows = live.map((p): AssembledPair => {
    const post = posts.get(p.postId) as PostDoc;
    const rel = relations.get(pairKey(p.viewerId, p.authorId)) as Relation;
    const c = postCounts.get(p.postId) ?? { like: 0, comment: 0, share: 0 };
    // The author's other posts only: this post's own counts are features of their own.
    const a = authorTotals.get(p.authorId) ?? { posts: 0, engagements: 0 };
    const inWindow = recentByAuthor.get(p.authorId)?.includes(p.postId) ?? false;
    const others = a.posts - (inWindow ? 1 : 0);
    const otherEngagements = a.engagements - (inWindow ? total(p.postId) : 0);
    const past =
      (viewerAuthor.get(pairKey(p.viewerId, p.authorId)) ?? 0) - (viewerPost.get(pairKey(p.viewerId, p.postId)) ?? 0);
    return {
      ...p,
      inputs: {
        connectionStrength: rel.strength,
        degree: rel.degree,
        postType: post.type,
        hasMedia: post.mediaUrls.length > 0,
        contentLength: post.content.length,
        postAgeHours: (at.getTime() - post.createdAt.getTime()) / 3_600_000,
        authorEngagementRate: others > 0 ? otherEngagements / others : 0,
        likes: c.like,
        comments: c.comment,
        shares: c.share,
        pastInteractions: past,
        authorFollowers: followers.get(p.authorId) ?? 0,
      },
    };
  });
  return { rows, skipped };
}
