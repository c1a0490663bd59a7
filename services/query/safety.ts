import type { Db } from 'mongodb';
import { mayRead } from '../../domain/visibility';
import type { IdLookup } from '../../stores/lookup';
import { relationsToAuthors } from '../../stores/relations';
import { writeModel } from '../../stores/write-model';

export interface Candidate {
  postId: string;
  authorId: string;
}

export interface SafetyNet {
  allowed(viewerId: string, items: Candidate[]): Promise<Set<string>>;
}

/**
 * The read-time safety net. Whatever the read model says, a viewer is never served a deleted post, a post by a
 * member either of them blocked, or a post whose visibility no longer admits them. Two batched reads of the
 * write model per page: the posts, and the relationships between the viewer and the page's authors.
 */
export function createSafetyNet(db: Db, lookup: IdLookup): SafetyNet {
  const wm = writeModel(db);
  return {
    async allowed(viewerId: string, items: Candidate[]): Promise<Set<string>> {
      if (!items.length) return new Set();
      const [posts, relationTo] = await Promise.all([
        lookup.byIds(
          wm.posts,
          items.map((i) => i.postId),
          { deleted: 1, visibility: 1, authorId: 1 },
        ),
        relationsToAuthors(
          wm,
          lookup,
          viewerId,
          items.map((i) => i.authorId),
        ),
      ]);
      const ok = new Set<string>();
      for (const p of posts) {
        if (p.deleted) continue;
        if (mayRead(viewerId, p, relationTo(p.authorId))) ok.add(p._id);
      }
      return ok;
    },
  };
}
