import type { Collection, Document } from 'mongodb';
import { DAY_MS } from '../domain/time';
import {
  type Assembly,
  directRelationIds,
  directRelations,
  ENGAGING,
  type Engaging,
  featureRows,
  latestPostsByAuthor,
  livePairs,
  relationPairs,
  type ScoringPair,
  secondDegreeMembers,
  withSecondDegree,
} from '../ranking/features';
import { type IdLookup, lookupFor } from './lookup';
import { type PostDoc, type WriteModel } from './write-model';

/**
 * Loads what the engagement model's inputs for a batch of (viewer, post) pairs are made of from the write model, in
 * a fixed number of batched `$in` queries whatever the batch size (three rounds, at most seven queries); the rows
 * themselves are worked out by ranking/features.ts. The write model is the stable source; once the read models carry
 * counters, a cheaper assembly can replace this one behind the same result type.
 */

export interface AssemblyOptions {
  /** The scoring time: post age is measured to it, and engagements after it are not counted. */
  at: Date;
  /** Window of the author's posts for the author's engagement rate. */
  authorWindowDays?: number;
  /** Window of the author's posts for the viewer's past interactions with the author. */
  interactionWindowDays?: number;
}

type PostFields = Pick<PostDoc, '_id' | 'authorId' | 'type' | 'mediaUrls' | 'content' | 'createdAt' | 'deleted'>;

async function postsById(lookup: IdLookup, wm: WriteModel, postIds: string[]): Promise<Map<string, PostFields>> {
  const posts = new Map<string, PostFields>();
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
  return posts;
}

async function acceptedConnectionsOf(
  lookup: IdLookup,
  wm: WriteModel,
  members: string[],
): Promise<Array<{ from: string; to: string }>> {
  const sides = await Promise.all(
    (['from', 'to'] as const).map((side) =>
      lookup.byValues(
        wm.relationships,
        side,
        members,
        { type: 'connection', status: 'accepted', active: true },
        { projection: { from: 1, to: 1 } },
      ),
    ),
  );
  return sides.flat();
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
  // Every read is one `$in` on MongoDB and index reads per value on FerretDB (stores/lookup.ts).
  const lookup = await lookupFor(wm.posts.db);
  const posts = await postsById(lookup, wm, postIds);
  const { live, skipped } = livePairs(pairs, posts);
  const viewers = [...new Set(live.map((p) => p.viewerId))];
  const authors = [...new Set(live.map((p) => p.authorId))];
  const relPairs = relationPairs(live);

  // Round 2: direct relationships by their deterministic ids, follower counts, the authors' recent posts.
  const relationships = wm.relationships as unknown as Collection<Document>;
  const engagements = wm.engagements as unknown as Collection<Document>;
  const [relDocs, followerCounts, authorPosts] = await Promise.all([
    lookup.byIds(wm.relationships, directRelationIds(relPairs), { type: 1, from: 1, to: 1, status: 1, active: 1 }),
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
  const { relations: direct, unresolved } = directRelations(relPairs, relDocs);
  const recentByAuthor = latestPostsByAuthor(authorPosts, authorSince);
  const recentPostIds = [...recentByAuthor.values()].flat();

  // Round 3: second degree for pairs without a direct edge, engagement counts, the viewers' past interactions.
  const connectionsOf = secondDegreeMembers(unresolved);
  const [connDocs, engagementCounts, interactions] = await Promise.all([
    // Either side of an accepted connection; a connection between two of them comes twice, which linking ignores.
    acceptedConnectionsOf(lookup, wm, connectionsOf),
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

  const relations = withSecondDegree(direct, unresolved, connDocs);
  const rows = featureRows({
    at,
    live,
    posts,
    relations,
    authorPosts,
    recentByAuthor,
    engagementCounts,
    interactions,
    followerCounts,
  });
  return { rows, skipped };
}
