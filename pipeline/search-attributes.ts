import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Custom search attributes (registered by the stack script) that let operators find projections in the UI. */
export const SEARCH_ATTRIBUTES = {
  postId: defineSearchAttributeKey('PostId', SearchAttributeType.KEYWORD),
  authorId: defineSearchAttributeKey('AuthorId', SearchAttributeType.KEYWORD),
  viewerId: defineSearchAttributeKey('ViewerId', SearchAttributeType.KEYWORD),
  feedOperation: defineSearchAttributeKey('FeedOperation', SearchAttributeType.KEYWORD),
};
