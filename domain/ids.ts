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

/** A kind of id: what it may hold, how an error describes that, and the reasons its two failures carry. */
export interface IdFormat {
  pattern: RegExp;
  described: string;
  missing: string;
  malformed: string;
}

/** Member, post and event ids: letters, digits and underscores, so the dash-joined relationship ids stay unambiguous. */
export const ENTITY_ID: IdFormat = {
  pattern: /^[A-Za-z0-9_]{1,64}$/,
  described: '1-64 letters, digits or underscores',
  missing: 'MISSING_FIELD',
  malformed: 'MALFORMED_ID',
};

/** The ids an operator passes to the operations service (request ids name runs, so they may carry `.:-`). */
export const OPERATOR_ID: IdFormat = {
  pattern: /^[A-Za-z0-9_.:-]{1,128}$/,
  described: '1 to 128 letters, digits or _.:-',
  missing: 'INVALID_ARGUMENT',
  malformed: 'INVALID_ARGUMENT',
};

/** The id, or INVALID_ARGUMENT naming the field when it is missing or malformed. */
export function requireId(value: string, field: string, format: IdFormat = ENTITY_ID): string {
  if (!value) throw invalid(`${field} is required`, format.missing);
  if (!format.pattern.test(value)) throw invalid(`${field} must be ${format.described}`, format.malformed);
  return value;
}
