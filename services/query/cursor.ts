import { createHmac, timingSafeEqual } from 'node:crypto';
import { invalid } from '../../domain/errors';

/**
 * Opaque, versioned page cursors: base64url(JSON) plus a truncated HMAC, so a tampered or forged cursor is
 * refused with INVALID_ARGUMENT instead of being trusted. A cursor is bound to its viewer and its snapshot.
 */
export interface FeedCursor {
  v: 1;
  /** Viewer (or author, for profile pages) the cursor belongs to. */
  u: string;
  /** Snapshot time (ms): ranks are computed against it, and items projected later wait for a fresh session. */
  s: number;
  /** Session id of the ranked window, and the position after the last served item. */
  w: string;
  p: number;
  /** Sort key of the last served item: rank (window) or created-at ms (tail), and its post id. */
  k: number;
  i: string;
  /** Set when the feed leaves out discovery (GetFeedRequest.no_discovery); later pages must ask the same. */
  d?: true;
}

const VERSION = 1;

export interface CursorCodec {
  encode(c: Omit<FeedCursor, 'v'>): string;
  decode(token: string, owner: string): FeedCursor;
}

export function createCursorCodec(secret: string): CursorCodec {
  const mac = (body: string): Buffer => createHmac('sha256', secret).update(body).digest().subarray(0, 12);
  const bad = (why: string) => invalid(`cursor is invalid: ${why}`, 'INVALID_CURSOR');
  return {
    encode(c) {
      const body = Buffer.from(JSON.stringify({ v: VERSION, ...c })).toString('base64url');
      return `${body}.${mac(body).toString('base64url')}`;
    },
    decode(token, owner) {
      if (token.length > 2048) throw bad('too long');
      const [body, sig, extra] = token.split('.');
      if (!body || !sig || extra !== undefined) throw bad('malformed');
      const given = Buffer.from(sig, 'base64url');
      const want = mac(body);
      if (given.length !== want.length || !timingSafeEqual(given, want)) throw bad('signature mismatch');
      let c: FeedCursor;
      try {
        c = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as FeedCursor;
      } catch {
        throw bad('undecodable');
      }
      if (c.v !== VERSION) throw bad(`unsupported version ${String(c.v)}`);
      if (c.u !== owner) throw bad('it belongs to another member');
      const ok =
        typeof c.s === 'number' &&
        typeof c.w === 'string' &&
        Number.isInteger(c.p) &&
        c.p >= 0 &&
        typeof c.k === 'number' &&
        typeof c.i === 'string' &&
        (c.d === undefined || c.d === true);
      if (!ok) throw bad('missing fields');
      return c;
    },
  };
}
