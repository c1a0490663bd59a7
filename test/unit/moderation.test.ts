import { strict as assert } from 'node:assert';
import { createRuleModerator, isHttpUrl, type ModerationInput } from '../../services/command/moderation';

const moderator = createRuleModerator({
  MODERATION_MAX_CHARS: 40,
  MODERATION_MAX_LINKS: 1,
  MODERATION_MAX_MEDIA: 2,
  MODERATION_BANNED_TERMS: ['spamcoin', 'buy followers'],
});
const verdictOf = async (content: string, mediaUrls: string[] = []) => moderator.check({ content, mediaUrls });
const reasonOf = async (content: string, mediaUrls: string[] = []) => {
  const v = await verdictOf(content, mediaUrls);
  return v.ok ? 'ok' : v.reason;
};

describe('rule moderation', () => {
  it('accepts short plain content with http(s) media', async () => {
    assert.deepEqual(await verdictOf('hello', ['https://cdn.example/a.png', 'http://x.example/b']), { ok: true });
  });

  it('refuses empty or whitespace-only content', async () => {
    assert.equal(await reasonOf(''), 'EMPTY_CONTENT');
    assert.equal(await reasonOf(' \n\t '), 'EMPTY_CONTENT');
  });

  it('counts characters as code points, so an emoji is one', async () => {
    assert.equal(await reasonOf('😀'.repeat(40)), 'ok');
    assert.equal(await reasonOf('😀'.repeat(41)), 'CONTENT_TOO_LONG');
    assert.equal(await reasonOf('a'.repeat(41)), 'CONTENT_TOO_LONG');
  });

  it('measures the trimmed content, so surrounding whitespace does not count', async () => {
    assert.equal(await reasonOf(`  ${'a'.repeat(40)} \n`), 'ok');
    assert.equal(await reasonOf(` ${'a'.repeat(41)} `), 'CONTENT_TOO_LONG');
  });

  it('says how long the content is and what the limit is', async () => {
    const v = await verdictOf('a'.repeat(42));
    assert.ok(!v.ok);
    assert.match(v.message, /42 characters; at most 40/);
  });

  it('refuses banned terms in any case, without naming the term', async () => {
    assert.equal(await reasonOf('SpamCoin!'), 'BANNED_TERM');
    assert.equal(await reasonOf('BUY FOLLOWERS'), 'BANNED_TERM');
    const v = await verdictOf('spamcoin');
    assert.ok(!v.ok && !v.message.includes('spamcoin'));
  });

  it('refuses more links than allowed', async () => {
    assert.equal(await reasonOf('http://a.b'), 'ok');
    assert.equal(await reasonOf('http://a https://b'), 'TOO_MANY_LINKS');
  });

  it('refuses more media than allowed before looking at the urls', async () => {
    assert.equal(await reasonOf('hi', ['ftp://a', 'ftp://b', 'ftp://c']), 'TOO_MANY_MEDIA');
  });

  it('refuses media urls that are not http(s)', async () => {
    for (const url of ['ftp://x.example/a', 'javascript:alert(1)', 'not a url', '']) {
      assert.equal(await reasonOf('hi', [url]), 'INVALID_MEDIA_URL', url);
    }
  });

  it('checks in a fixed order: emptiness, length, terms, links, media', async () => {
    const cases: Array<[ModerationInput, string]> = [
      [{ content: '   ', mediaUrls: ['ftp://a', 'ftp://b', 'ftp://c'] }, 'EMPTY_CONTENT'],
      [{ content: 'spamcoin '.repeat(5), mediaUrls: [] }, 'CONTENT_TOO_LONG'],
      [{ content: 'spamcoin', mediaUrls: ['ftp://a'] }, 'BANNED_TERM'],
    ];
    for (const [input, want] of cases) {
      const v = await moderator.check(input);
      assert.equal(v.ok ? 'ok' : v.reason, want, input.content);
    }
    const loose = createRuleModerator({
      MODERATION_MAX_CHARS: 100,
      MODERATION_MAX_LINKS: 0,
      MODERATION_MAX_MEDIA: 0,
      MODERATION_BANNED_TERMS: [],
    });
    const v = await loose.check({ content: 'see http://a', mediaUrls: ['https://b'] });
    assert.equal(v.ok ? 'ok' : v.reason, 'TOO_MANY_LINKS');
  });

  describe('isHttpUrl', () => {
    it('accepts http and https urls with a host', () => {
      assert.ok(isHttpUrl('https://cdn.example/a.png'));
      assert.ok(isHttpUrl('HTTP://EXAMPLE.COM'));
    });

    it('refuses other schemes, host-less urls and urls over 2048 characters', () => {
      for (const url of ['ftp://x', 'data:text/plain,hi', 'mailto:a@b.co', 'http://', '/relative', 'example.com']) {
        assert.equal(isHttpUrl(url), false, url);
      }
      assert.equal(isHttpUrl(`https://x.example/${'a'.repeat(2040)}`), false);
    });
  });
});
