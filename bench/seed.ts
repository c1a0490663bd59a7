import type { RelationshipDoc, UserDoc } from '../stores/write-model';

/**
 * A relationship as the write model holds it once accepted: active, at version 1. The benches seed their stores
 * with it, and the tests that assemble ranking inputs build theirs from it too.
 */
export function acceptedRelationship(
  id: string,
  type: RelationshipDoc['type'],
  from: string,
  to: string,
  at: Date,
  extra: Partial<RelationshipDoc> = {},
): RelationshipDoc {
  return {
    _id: id,
    type,
    from,
    to,
    status: 'accepted',
    active: true,
    version: 1,
    createdAt: at,
    updatedAt: at,
    ...extra,
  };
}

/** A seeded member at version 1, with a bench address and no image. */
export function benchMember(id: string, displayName: string, headline: string, at: Date): UserDoc {
  return {
    _id: id,
    email: `${id}@bench.feedflow.dev`,
    displayName,
    headline,
    imageUrl: '',
    version: 1,
    createdAt: at,
    updatedAt: at,
  };
}
