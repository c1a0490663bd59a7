/**
 * The demo's identity namespace. Member emails and request ids carry the seed version, so a new version of the
 * story gets new member, post and event ids, and so new workflow ids: Temporal keeps the finished projections of
 * an older demo by id, and a reused id would be taken for a projection already done.
 */
export const DEMO_SEED_VERSION = 3;

/** A request id of this version of the demo. */
export const demoRequest = (key: string): string => `demo${DEMO_SEED_VERSION}-${key}`;

/** A seeded member's email. */
export const demoEmail = (i: number): string => `member${i}@v${DEMO_SEED_VERSION}.demo.feedflow.dev`;
