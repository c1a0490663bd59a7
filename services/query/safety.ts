import type { Db } from 'mongodb';
import { blockId, connectionId } from '../../domain/ids';
import { mayRead } from '../../domain/visibility';
import type { IdLookup } from '../../stores/lookup';
import { writeModel } from '../../stores/write-model';

export interface Candidate {
  postId: string;
  authorId: string;
}

/**
 * The read-time safety net. Whatever the read model says, a viewer is never served a deleted post, a post by a
 * member either of them blocked, or a post whose visibility no longer admits them. Two batched reads of the
 * write model per page: the posts, and the relationships between the viewer and the page's authors.
 */
export function createSafetyNet(db: Db, lookup: IdLookup) {
  const wm = writeModel(db);
  return {
    async allowed(viewerId: string, items: Candidate[]): Promise<Set<string>> {
      if (!items.length) return new Set();
      const authors = [...new Set(items.map((i) => i.authorId))].filter((a) => a !== viewerId);
      const relIds = authors.flatMap((a) => [blockId(viewerId, a), blockId(a, viewerId), connectionId(viewerId, a)]);
      const [posts, rels] = await Promise.all([
        lookup.byIds(
          wm.posts,
          items.map((i) => i.postId),
          { deleted: 1, visibility: 1, authorId: 1 },
        ),
        lookup
          .byIds(wm.relationships, relIds, { type: 1, status: 1, from: 1, to: 1, active: 1 })
          .then((found) => found.filter((r) => r.active)),
      ]);
      const blocked = new Set<string>();
      const connected = new Set<string>();
      for (const r of rels) {
        const other = r.from === viewerId ? r.to : r.from;
        if (r.type === 'block') blocked.add(other);
        if (r.type === 'connection' && r.status === 'accepted') connected.add(other);
      }
      const ok = new Set<string>();
      for (const p of posts) {
        if (p.deleted) continue;
        const rel = { blocked: blocked.has(p.authorId), connected: connected.has(p.authorId) };
        if (mayRead(viewerId, p, rel)) ok.add(p._id);
      }
      return ok;
    },
  };
}
export type SafetyNet = ReturnType<typeof createSafetyNet>;
