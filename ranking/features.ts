import { connectionId, followId } from '../domain/ids';
import { CONNECTION_STRENGTH, type Degree, type FeatureInputs } from './schema';

/**
 * The engagement model's inputs for (viewer, post) pairs, worked out from documents already loaded. No I/O here:
 * stores/ranking-inputs.ts decides what to read and in how many rounds, these functions what it means, so the
 * feature arithmetic can change without touching a query and be tested without a store.
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

/** A pair whose post exists and is live, with the post's author. */
export type LivePair = ScoringPair & { authorId: string };

/** The post fields the features read. */
export interface PostFacts {
  _id: string;
  authorId: string;
  type: FeatureInputs['postType'];
  mediaUrls: string[];
  content: string;
  createdAt: Date;
  deleted: boolean;
}

/** A direct relationship between two members, as the write model holds it. */
export interface RelationshipFacts {
  _id: string;
  type: string;
  status?: string;
  active: boolean;
}

export interface Relation {
  strength: number;
  degree: Degree;
}

export const ENGAGING = ['like', 'comment', 'share'] as const;
export type Engaging = (typeof ENGAGING)[number];
/** The author's engagement rate reads at most this many of their latest posts. */
export const RATE_POSTS = 50;

const pairKey = (a: string, b: string) => `${a}\u0000${b}`;

/** Splits pairs into those that can be scored and those whose post is missing or deleted. */
export function livePairs(
  pairs: readonly ScoringPair[],
  posts: ReadonlyMap<string, PostFacts>,
): { live: LivePair[]; skipped: Assembly['skipped'] } {
  const skipped: Assembly['skipped'] = [];
  const live: LivePair[] = [];
  for (const pair of pairs) {
    const post = posts.get(pair.postId);
    if (!post) skipped.push({ ...pair, reason: 'post-missing' });
    else if (post.deleted) skipped.push({ ...pair, reason: 'post-deleted' });
    else live.push({ ...pair, authorId: post.authorId });
  }
  return { live, skipped };
}

/** One pair per (viewer, author): the relationship reads and relations key on these. */
export const relationPairs = (live: readonly LivePair[]): LivePair[] => [
  ...new Map(live.map((p) => [pairKey(p.viewerId, p.authorId), p])).values(),
];

/** The deterministic ids of every direct relationship that may link each pair. */
export const directRelationIds = (relPairs: readonly LivePair[]): string[] =>
  relPairs.flatMap((p) => [
    connectionId(p.viewerId, p.authorId),
    followId(p.viewerId, p.authorId),
    followId(p.authorId, p.viewerId),
  ]);

/** Relations from direct edges, closest first; pairs without one are left for the second-degree check. */
export function directRelations(
  relPairs: readonly LivePair[],
  relDocs: readonly RelationshipFacts[],
): { relations: Map<string, Relation>; unresolved: LivePair[] } {
  const active = new Set(
    relDocs.filter((r) => r.active && (r.type !== 'connection' || r.status === 'accepted')).map((r) => r._id),
  );
  const relations = new Map<string, Relation>();
  const unresolved: LivePair[] = [];
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
  return { relations, unresolved };
}

/** The members whose accepted connections the second-degree check needs. */
export const secondDegreeMembers = (unresolved: readonly LivePair[]): string[] =>
  unresolved.length ? [...new Set(unresolved.flatMap((p) => [p.viewerId, p.authorId]))] : [];

/** Whether two members have a connection in common. */
function sharesAny(a: Set<string> | undefined, b: Set<string> | undefined): boolean {
  if (!a || !b) return false;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const m of small) if (large.has(m)) return true;
  return false;
}

/** Every pair's relation: the direct ones, and for the unresolved a second degree when the two share a connection. */
export function withSecondDegree(
  direct: ReadonlyMap<string, Relation>,
  unresolved: readonly LivePair[],
  connections: ReadonlyArray<{ from: string; to: string }>,
): Map<string, Relation> {
  const relations = new Map(direct);
  const neighbours = new Map<string, Set<string>>();
  const link = (a: string, b: string) => {
    let s = neighbours.get(a);
    if (!s) neighbours.set(a, (s = new Set()));
    s.add(b);
  };
  for (const c of connections) {
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
  return relations;
}

/**
 * Each author's latest posts since `since`, newest first: the rate reads these only, so a prolific author costs no
 * more than RATE_POSTS.
 */
export function latestPostsByAuthor(
  authorPosts: ReadonlyArray<{ _id: string; authorId: string; createdAt: Date }>,
  since: Date,
): Map<string, string[]> {
  const recentByAuthor = new Map<string, string[]>();
  for (const p of [...authorPosts].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())) {
    if (p.createdAt < since) continue;
    const ids = recentByAuthor.get(p.authorId) ?? [];
    if (ids.length < RATE_POSTS) recentByAuthor.set(p.authorId, [...ids, p._id]);
  }
  return recentByAuthor;
}

/** Everything the rows are computed from, as loaded. */
export interface FeatureSources {
  /** The scoring time: post age is measured to it. */
  at: Date;
  live: readonly LivePair[];
  posts: ReadonlyMap<string, PostFacts>;
  /** Every live pair's relation, keyed as relationPairs keys them (withSecondDegree). */
  relations: ReadonlyMap<string, Relation>;
  /** The authors' posts in the interaction window: they attribute the viewers' past interactions to an author. */
  authorPosts: ReadonlyArray<{ _id: string; authorId: string }>;
  /** latestPostsByAuthor over the rate window. */
  recentByAuthor: ReadonlyMap<string, string[]>;
  /** Engagements per post and kind, for the scored posts and the authors' recent ones. */
  engagementCounts: ReadonlyArray<{ _id: { postId: string; kind: Engaging }; n: number }>;
  /** Engagements per viewer and post in the interaction window. */
  interactions: ReadonlyArray<{ _id: { userId: string; postId: string }; n: number }>;
  followerCounts: ReadonlyArray<{ _id: string; n: number }>;
}

/** One feature row per live pair, in the pairs' order. */
export function featureRows(src: FeatureSources): AssembledPair[] {
  const { at, posts, relations, recentByAuthor } = src;
  const postAuthor = new Map(src.authorPosts.map((p) => [p._id, p.authorId]));
  const postCounts = new Map<string, Record<Engaging, number>>();
  for (const c of src.engagementCounts) {
    let r = postCounts.get(c._id.postId);
    if (!r) postCounts.set(c._id.postId, (r = { like: 0, comment: 0, share: 0 }));
    r[c._id.kind] += c.n;
  }
  const total = (postId: string) => {
    const r = postCounts.get(postId);
    return r ? r.like + r.comment + r.share : 0;
  };
  const authorTotals = new Map<string, { posts: number; engagements: number }>();
  for (const id of [...recentByAuthor.values()].flat()) {
    const a = postAuthor.get(id) as string;
    const t = authorTotals.get(a) ?? { posts: 0, engagements: 0 };
    t.posts += 1;
    t.engagements += total(id);
    authorTotals.set(a, t);
  }
  const viewerAuthor = new Map<string, number>();
  const viewerPost = new Map<string, number>();
  for (const i of src.interactions) {
    const author = postAuthor.get(i._id.postId);
    if (author === undefined) continue; // another author's post, or older than the window
    const k = pairKey(i._id.userId, author);
    viewerAuthor.set(k, (viewerAuthor.get(k) ?? 0) + i.n);
    viewerPost.set(pairKey(i._id.userId, i._id.postId), i.n);
  }
  const followers = new Map(src.followerCounts.map((f) => [f._id, f.n]));

  return src.live.map((p): AssembledPair => {
    const post = posts.get(p.postId) as PostFacts;
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
}
