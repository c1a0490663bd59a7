/**
 * The one visibility rule. Two questions are asked of it: may a member read a post (the query side's safety net,
 * commands that act on a post), and which posts are pushed to a member's feed (fan-out, backfill, the checks).
 */

export const VISIBILITIES = ['public', 'connections', 'private'] as const;
export type Visibility = (typeof VISIBILITIES)[number];

/** Who a post is pushed to: nobody else (private), accepted connections, or connections and followers. */
export type AudienceScope = 'none' | 'connections' | 'connections+followers';

/** How a viewer stands to an author, as far as visibility cares. */
export interface Relation {
  /** Either of them blocks the other. */
  blocked: boolean;
  /** An accepted, active connection. */
  connected: boolean;
  /** The viewer actively follows the author. */
  follows: boolean;
}

export const NO_RELATION: Relation = { blocked: false, connected: false, follows: false };

/**
 * Whether `viewerId` may read a post: their own always; otherwise never across a block, never a private one, never
 * one of a visibility this rule does not know.
 */
export function mayRead(
  viewerId: string,
  post: { authorId: string; visibility: string },
  rel: Pick<Relation, 'blocked' | 'connected'>,
): boolean {
  if (post.authorId === viewerId) return true;
  if (rel.blocked || post.visibility === 'private') return false;
  if (post.visibility === 'public') return true;
  return post.visibility === 'connections' && rel.connected;
}

/** Which of an author's posts are pushed to a viewer now: none, public ones (a follow), or connection ones too. */
export function pushedVisibilities(rel: Relation): Array<'public' | 'connections'> {
  if (rel.blocked) return [];
  if (rel.connected) return ['public', 'connections'];
  return rel.follows ? ['public'] : [];
}

/** The audience a post is pushed to; a pull author's public posts reach followers at read time instead. */
export function audienceScopeOf(visibility: Visibility, pullAuthor: boolean): AudienceScope {
  if (visibility === 'private') return 'none';
  return visibility === 'connections' || pullAuthor ? 'connections' : 'connections+followers';
}
