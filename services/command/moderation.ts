import type { Config } from '../../lib/config';

export interface ModerationInput {
  content: string;
  mediaUrls: string[];
}

export type ModerationVerdict = { ok: true } | { ok: false; reason: ModerationReason; message: string };

export type ModerationReason =
  'EMPTY_CONTENT' | 'CONTENT_TOO_LONG' | 'BANNED_TERM' | 'TOO_MANY_LINKS' | 'INVALID_MEDIA_URL' | 'TOO_MANY_MEDIA';

/** Pluggable content moderation: the command side asks one Moderator before accepting content. */
export interface Moderator {
  check(input: ModerationInput): ModerationVerdict | Promise<ModerationVerdict>;
}

const LINK = /\bhttps?:\/\/\S+/gi;

/** The default rules: non-empty, bounded length, no banned term, few links, http(s) media only. */
export function createRuleModerator(
  config: Pick<
    Config,
    'MODERATION_MAX_CHARS' | 'MODERATION_MAX_LINKS' | 'MODERATION_MAX_MEDIA' | 'MODERATION_BANNED_TERMS'
  >,
): Moderator {
  const reject = (reason: ModerationReason, message: string): ModerationVerdict => ({ ok: false, reason, message });
  return {
    check({ content, mediaUrls }) {
      const text = content.trim();
      if (!text) return reject('EMPTY_CONTENT', 'content must not be empty');
      // Count code points, not UTF-16 units, so emoji count as one character.
      const length = [...text].length;
      if (length > config.MODERATION_MAX_CHARS) {
        return reject('CONTENT_TOO_LONG', `content is ${length} characters; at most ${config.MODERATION_MAX_CHARS}`);
      }
      const lower = text.toLowerCase();
      const banned = config.MODERATION_BANNED_TERMS.find((t) => lower.includes(t));
      if (banned) return reject('BANNED_TERM', 'content contains a banned term');
      const links = text.match(LINK)?.length ?? 0;
      if (links > config.MODERATION_MAX_LINKS) {
        return reject('TOO_MANY_LINKS', `content has ${links} links; at most ${config.MODERATION_MAX_LINKS}`);
      }
      if (mediaUrls.length > config.MODERATION_MAX_MEDIA) {
        return reject('TOO_MANY_MEDIA', `${mediaUrls.length} media urls; at most ${config.MODERATION_MAX_MEDIA}`);
      }
      for (const url of mediaUrls) {
        if (!isHttpUrl(url)) return reject('INVALID_MEDIA_URL', `media url "${url.slice(0, 100)}" is not http(s)`);
      }
      return { ok: true };
    },
  };
}

export function isHttpUrl(value: string): boolean {
  if (value.length > 2048) return false;
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !!u.hostname;
  } catch {
    return false;
  }
}
