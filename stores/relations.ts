import { blockId, connectionId, followId } from '../domain/ids';
import { type Relation, pushedVisibilities } from '../domain/visibility';
import type { IdLookup } from './lookup';
import type { RelationshipDoc, WriteModel } from './write-model';

/**
 * The one home of relationship loading for the visibility rule (domain/visibility.ts): a block either way and an
 * accepted connection, read from the write model by id, the only lookup FerretDB pushes down. The command
 * handlers, the projection activities and the query side's safety net all read through here.
 */

/** An active, accepted connection. */
export function isConnected(connection: RelationshipDoc | null | undefined): boolean {
  return !!connection?.active && connection.status === 'accepted';
}

/** Every relationship document between two members. */
export interface PairState {
  connection: RelationshipDoc | null;
  follows: { ab: RelationshipDoc | null; ba: RelationshipDoc | null };
  blocks: { ab: RelationshipDoc | null; ba: RelationshipDoc | null };
}

export async function loadPair(wm: WriteModel, a: string, b: string): Promise<PairState> {
  const ids = [connectionId(a, b), followId(a, b), followId(b, a), blockId(a, b), blockId(b, a)];
  const [connection, fab, fba, bab, bba] = await Promise.all(ids.map((_id) => wm.relationships.findOne({ _id })));
  return { connection, follows: { ab: fab, ba: fba }, blocks: { ab: bab, ba: bba } };
}

export const isBlocked = (p: PairState): boolean => !!p.blocks.ab?.active || !!p.blocks.ba?.active;

/** What `viewer` may see of `author`'s posts now: nothing, public posts (a follow), or connection posts too. */
export function visibleTo(p: PairState, viewer: string, author: string): Array<'public' | 'connections'> {
  const follows = [p.follows.ab, p.follows.ba].some((f) => f?.active && f.from === viewer && f.to === author);
  return pushedVisibilities({ blocked: isBlocked(p), connected: isConnected(p.connection), follows });
}

/** Whether either member blocks the other: two reads by id. */
export async function isBlockedEitherWay(wm: WriteModel, a: string, b: string): Promise<boolean> {
  const [ab, ba] = await Promise.all([
    wm.relationships.findOne({ _id: blockId(a, b) }, { projection: { active: 1 } }),
    wm.relationships.findOne({ _id: blockId(b, a) }, { projection: { active: 1 } }),
  ]);
  return !!ab?.active || !!ba?.active;
}

/** Whether the two members hold an accepted connection: one read by id. */
export async function areConnected(wm: WriteModel, a: string, b: string): Promise<boolean> {
  return isConnected(await wm.relationships.findOne({ _id: connectionId(a, b) }));
}

/**
 * How one viewer stands to many authors, as far as reading their posts cares: the blocks both ways and the
 * accepted connections, in one batched read.
 */
export async function relationsToAuthors(
  wm: WriteModel,
  lookup: IdLookup,
  viewerId: string,
  authorIds: readonly string[],
): Promise<(authorId: string) => Pick<Relation, 'blocked' | 'connected'>> {
  const authors = [...new Set(authorIds)].filter((a) => a !== viewerId);
  const ids = authors.flatMap((a) => [blockId(viewerId, a), blockId(a, viewerId), connectionId(viewerId, a)]);
  const found = await lookup.byIds(wm.relationships, ids, { type: 1, status: 1, from: 1, to: 1, active: 1 });
  const blocked = new Set<string>();
  const connected = new Set<string>();
  for (const r of found) {
    if (!r.active) continue;
    const other = r.from === viewerId ? r.to : r.from;
    if (r.type === 'block') blocked.add(other);
    if (r.type === 'connection' && isConnected(r)) connected.add(other);
  }
  return (authorId) => ({ blocked: blocked.has(authorId), connected: connected.has(authorId) });
}

/** Everyone a viewer stands in a relationship with: whom they block or are blocked by, connect with, follow. */
export interface ViewerRelations {
  blocked: string[];
  connected: string[];
  follows: string[];
}

/** A viewer's active relationships, both directions, read by the indexed `from` and `to` equalities. */
export async function viewerRelations(wm: WriteModel, lookup: IdLookup, viewerId: string): Promise<ViewerRelations> {
  const side = (field: 'from' | 'to') =>
    lookup.byValues(
      wm.relationships,
      field,
      [viewerId],
      { active: true },
      { projection: { type: 1, status: 1, from: 1, to: 1 } },
    );
  const rels = (await Promise.all([side('from'), side('to')])).flat();
  const other = (r: { from: string; to: string }) => (r.from === viewerId ? r.to : r.from);
  return {
    blocked: rels.filter((r) => r.type === 'block').map(other),
    connected: rels.filter((r) => r.type === 'connection' && r.status === 'accepted').map(other),
    follows: rels.filter((r) => r.type === 'follow' && r.from === viewerId).map((r) => r.to),
  };
}
