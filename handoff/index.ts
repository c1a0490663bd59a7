/**
 * The hand-off: the pipeline's entrance, between an accepted event and its projection. The command side inserts
 * the event (the commit point) and hands it here; this room applies it to the write model, invalidates cached
 * pages it can hide posts from, starts its projection workflow (typed by the event's route in pipeline/routing.ts)
 * and marks it started. The outbox sweep, run by the `feedflow-outbox-sweep` Temporal Schedule through the
 * operations activities, completes events whose command died half-way with the same code. It depends on the
 * stores, the workflow routing and lib only, never on a service, so services and activities can both use it.
 */
export { applyEvent } from './apply';
export { createOutbox, type Outbox, type OutboxDeps } from './outbox';
export { projectionInput, projectionStart, startProjection, startSearchIndexing, type StartConfig } from './start';
