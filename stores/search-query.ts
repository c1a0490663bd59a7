import type { Client } from '@opensearch-project/opensearch';

/**
 * The SearchPosts query: the viewer's words through `simple_query_string` (never raw query DSL), narrowed by the
 * audience the one visibility rule gives the viewer, so a page is rarely emptied by the read-time re-check.
 */

export interface PostQuery {
  viewerId: string;
  text: string;
  /** Accepted connections of the viewer: their connections-only posts are in scope. */
  connections: string[];
  /** Members either of whom blocks the other: none of their posts is in scope. */
  blocked: string[];
  authorId?: string;
  type?: string;
  createdAfter?: Date;
  createdBefore?: Date;
  sort: 'relevance' | 'newest';
  size: number;
  /** The previous page's last sort values. */
  after?: Array<string | number>;
}

export interface PostHit {
  postId: string;
  authorId: string;
  score: number;
  /** HTML-escaped content with the matched words in <em>. */
  snippet: string;
  sort: Array<string | number>;
}

/** Operators allowed in query text: and/or/not, phrases, prefixes, grouping. No fuzzy or slop (costly). */
const FLAGS = 'AND|OR|NOT|PHRASE|PREFIX|PRECEDENCE|WHITESPACE|ESCAPE';
const SNIPPET_CHARS = 160;

/** The viewer may read: their own posts, public posts across no block, connections-only posts of connections. */
function audienceFilter(q: PostQuery): object {
  const should: object[] = [
    { term: { authorId: q.viewerId } },
    {
      bool: {
        filter: [{ term: { visibility: 'public' } }],
        ...(q.blocked.length ? { must_not: [{ terms: { authorId: q.blocked } }] } : {}),
      },
    },
  ];
  if (q.connections.length) {
    should.push({
      bool: { filter: [{ term: { visibility: 'connections' } }, { terms: { authorId: q.connections } }] },
    });
  }
  return { bool: { should, minimum_should_match: 1 } };
}

export function postQueryBody(q: PostQuery): Record<string, unknown> {
  const filter: object[] = [{ term: { deleted: false } }, audienceFilter(q)];
  if (q.authorId) filter.push({ term: { authorId: q.authorId } });
  if (q.type) filter.push({ term: { type: q.type } });
  if (q.createdAfter || q.createdBefore) {
    filter.push({
      range: {
        createdAt: {
          ...(q.createdAfter ? { gte: q.createdAfter.toISOString() } : {}),
          ...(q.createdBefore ? { lt: q.createdBefore.toISOString() } : {}),
        },
      },
    });
  }
  const sort =
    q.sort === 'newest'
      ? [{ createdAt: 'desc' }, { postId: 'desc' }]
      : [{ _score: 'desc' }, { createdAt: 'desc' }, { postId: 'desc' }];
  return {
    size: q.size,
    track_total_hits: false,
    // Scores are wanted for the answer even when sorting by time.
    track_scores: true,
    _source: ['authorId'],
    query: {
      bool: {
        must: [
          {
            simple_query_string: {
              query: q.text,
              // Exact words weigh more than their stems; the author's name matches too.
              fields: ['content^2', 'content.stemmed', 'authorName'],
              default_operator: 'and',
              flags: FLAGS,
              lenient: true,
            },
          },
        ],
        filter,
      },
    },
    sort,
    ...(q.after ? { search_after: q.after } : {}),
    highlight: {
      encoder: 'html',
      pre_tags: ['<em>'],
      post_tags: ['</em>'],
      fields: {
        'content.stemmed': { number_of_fragments: 1, fragment_size: SNIPPET_CHARS, no_match_size: SNIPPET_CHARS },
      },
    },
  };
}

export async function searchPostIndex(client: Client, alias: string, q: PostQuery): Promise<PostHit[]> {
  const res = await client.search({ index: alias, body: postQueryBody(q) as never });
  type Hit = {
    _id: string;
    _score: number | null;
    _source: { authorId: string };
    sort: Array<string | number>;
    highlight?: Record<string, string[]>;
  };
  return (res.body.hits.hits as unknown as Hit[]).map((h) => ({
    postId: h._id,
    authorId: h._source.authorId,
    score: h._score ?? 0,
    snippet: h.highlight?.['content.stemmed']?.[0] ?? '',
    sort: h.sort,
  }));
}
