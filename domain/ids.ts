import { invalid } from './errors';

/**
 * Deterministic document ids: one connection per pair (lower id first, so a pair has at most one whoever asked),
 * one follow or block per direction, one feed item per viewer and post. Member ids are letters, digits and
 * underscores, so the dash- and colon-joined ids stay unambiguous.
 */

export const connectionId = (a: string, b: string): string => (a < b ? `c-${a}-${b}` : `c-${b}-${a}`);
export const followId = (from: string, to: string): string => `f-${from}-${to}`;
export const blockId = (from: string, to: string): string => `b-${from}-${to}`;

export function feedItemId(viewerId: string, postId: string): string {
  return `${viewerId}:${postId}`;
}

// Ids are letters, digits and underscores, so the dash-joined relationship ids stay unambiguous.
const ID = /^[A-Za-z0-9_]{1,64}$/;

/** The id, or INVALID_ARGUMENT naming the field when it is missing or malformed. */
export function requireId(value: string, field: string): string {
  if (!value) throw invalid(`${field} is required`, 'MISSING_FIELD');
  if (!ID.test(value)) throw invalid(`${field} must be 1-64 letters, digits or underscores`, 'MALFORMED_ID');
  return value;
}
