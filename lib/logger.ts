import { AsyncLocalStorage } from 'node:async_hooks';
import pino from 'pino';

export type Logger = pino.Logger;

/** Fields every log line written inside the current async scope carries (an activity's workflow and ids). */
const logContext = new AsyncLocalStorage<Record<string, unknown>>();

/** Runs `fn` so that every line any logger writes inside it, however deep, carries `fields`. */
export function withLogContext<T>(fields: Record<string, unknown>, fn: () => T): T {
  return logContext.run({ ...logContext.getStore(), ...fields }, fn);
}

/**
 * Structured JSON logs. Lines written inside `withLogContext` carry its fields, so an activity's own lines name
 * the workflow, post and viewer without the activity threading them through.
 */
export function createLogger(name: string, level: string, destination?: pino.DestinationStream): Logger {
  return pino({ name, level, base: { process: name }, mixin: () => logContext.getStore() ?? {} }, destination);
}
