import { createHmac, timingSafeEqual } from 'node:crypto';
import { invalid } from '../../domain/errors';

/**
 * Opaque, versioned page cursors over one codec: base64url(JSON) plus a truncated HMAC, so a tampered or forged
 * cursor is refused with INVALID_ARGUMENT instead of being trusted. Every cursor is bound to its owner (the viewer,
 * or the viewer and author of a profile page) and to its pagination: each pagination has its own type and kind tag,
 * so a cursor of one is never read as another.
 */

/** GetFeed inside a session's ranked window: the snapshot, the session and the position after the last item. */
export interface WindowCursor {
  phase: 'window';
  /** Snapshot time (ms): ranks are computed against it, and items projected later wait for a fresh session. */
  s: number;
  w: string;
  p: number;
  /** Set when the feed leaves out discovery (GetFeedRequest.no_discovery); later pages must ask the same. */
  d?: true;
}
/** GetFeed past the window, in recency order: strictly older than (k = created-at ms, i = post id). */
export interface TailCursor {
  phase: 'tail';
  s: number;
  k: number;
  i: string;
  d?: true;
}
export type FeedCursor = WindowCursor | TailCursor;
/** ListPostsByAuthor: strictly older than (k, i). */
export interface AuthorPostsCursor {
  k: number;
  i: string;
}
/** GetNetwork: the offset of the next page. */
export interface NetworkCursor {
  p: number;
}
/** SearchPosts: the search's sort values after the last hit (JSON), for OpenSearch's search_after. */
export interface SearchCursor {
  a: string;
}

const VERSION = 2;
// Unpadded base64url only: Buffer's decoder would also take `=` padding and `+` or `/`, giving one cursor many spellings.
const URL_SAFE = /^[A-Za-z0-9_-]+$/;
const num = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
const str = (x: unknown) => typeof x === 'string';
const flag = (x: unknown) => x === undefined || x === true;
const offset = (x: unknown) => Number.isInteger(x) && (x as number) >= 0;

const VALID = {
  feed: (c: Record<string, unknown>): boolean =>
    flag(c.d) &&
    num(c.s) &&
    ((c.phase === 'window' && str(c.w) && offset(c.p)) || (c.phase === 'tail' && num(c.k) && str(c.i))),
  authorPosts: (c: Record<string, unknown>): boolean => num(c.k) && str(c.i),
  network: (c: Record<string, unknown>): boolean => offset(c.p),
  search: (c: Record<string, unknown>): boolean => str(c.a),
};
type Kind = keyof typeof VALID;

export interface Pagination<T> {
  encode(owner: string, cursor: T): string;
  decode(token: string, owner: string): T;
}

export interface CursorCodec {
  feed: Pagination<FeedCursor>;
  authorPosts: Pagination<AuthorPostsCursor>;
  network: Pagination<NetworkCursor>;
  search: Pagination<SearchCursor>;
}

export function createCursorCodec(secret: string): CursorCodec {
  const mac = (body: string): Buffer => createHmac('sha256', secret).update(body).digest().subarray(0, 12);
  const bad = (why: string) => invalid(`cursor is invalid: ${why}`, 'INVALID_CURSOR');
  const pagination = <T extends object>(kind: Kind): Pagination<T> => ({
    encode(owner, cursor) {
      const body = Buffer.from(JSON.stringify({ v: VERSION, c: kind, u: owner, ...cursor })).toString('base64url');
      return `${body}.${mac(body).toString('base64url')}`;
    },
    decode(token, owner) {
      if (token.length > 2048) throw bad('too long');
      const [body, sig, extra] = token.split('.');
      if (!body || !sig || extra !== undefined || !URL_SAFE.test(body) || !URL_SAFE.test(sig)) throw bad('malformed');
      const given = Buffer.from(sig, 'base64url');
      const want = mac(body);
      if (given.length !== want.length || !timingSafeEqual(given, want)) throw bad('signature mismatch');
      let c: Record<string, unknown>;
      try {
        c = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
      } catch {
        throw bad('undecodable');
      }
      if (c === null || typeof c !== 'object') throw bad('undecodable');
      if (c.v !== VERSION) throw bad(`unsupported version ${String(c.v)}`);
      if (c.c !== kind) throw bad(`it belongs to another listing (${String(c.c)})`);
      if (c.u !== owner) throw bad('it belongs to another member');
      if (!VALID[kind](c)) throw bad('missing fields');
      const { v: _v, c: _c, u: _u, ...rest } = c;
      return rest as T;
    },
  });
  return {
    feed: pagination<FeedCursor>('feed'),
    authorPosts: pagination<AuthorPostsCursor>('authorPosts'),
    network: pagination<NetworkCursor>('network'),
    search: pagination<SearchCursor>('search'),
  };
}
