import {
  ApplicationFailure,
  ApplicationFailureCategory,
  CancelledFailure,
  type Logger as TemporalLogger,
  type LogLevel,
  type LogMetadata,
} from '@temporalio/common';
import { type ActivityInterceptorsFactory, Runtime } from '@temporalio/worker';
import type { createProjectionActivities } from '../activities';
import { type Logger, withLogContext } from '../lib/logger';
import { metrics, recordLag } from '../lib/metrics';

/**
 * What every worker adds for operators: activity log lines that name the workflow, post and viewer, the
 * projection metrics read off activity results, and the SDK's own logs routed to the same JSON log.
 */

/** The business ids an activity's first argument may carry; its log lines name whichever it has. */
const ID_FIELDS = ['eventId', 'postId', 'viewerId', 'authorId'] as const;

function idsOf(arg: unknown): Record<string, string> {
  if (typeof arg !== 'object' || arg === null) return {};
  const ids: Record<string, string> = {};
  for (const key of ID_FIELDS) {
    const value = (arg as Record<string, unknown>)[key];
    if (typeof value === 'string' && value) ids[key] = value;
  }
  return ids;
}

type ProjectionActivities = ReturnType<typeof createProjectionActivities>;
interface ItemWrite<R> {
  operation: string;
  count(result: R): number;
}

/**
 * The activities that write feed items and how their results count them. Typed against the activities, so a
 * renamed activity or a reshaped result fails to compile instead of silently zeroing the metrics.
 */
const ITEM_WRITES: { [K in keyof ProjectionActivities]?: ItemWrite<Awaited<ReturnType<ProjectionActivities[K]>>> } = {
  startFanout: { operation: 'fanout', count: (r) => r.written },
  fanoutSlice: { operation: 'fanout', count: (r) => r.written },
  backfillFeed: { operation: 'backfill', count: (r) => r },
  backfillFeedItems: { operation: 'backfill', count: (r) => r.written },
  pullTransitionSlice: { operation: 'pull-transition', count: (r) => r.written },
  applyPostUpdate: { operation: 'update', count: (r) => r.itemsUpdated },
};

/**
 * Counts the items a projection activity wrote and their accepted→projected lag, measured when the activity
 * completes (a fan-out slice's early pages are counted a little late).
 */
function recordItemWrites(activityType: string, arg: unknown, result: unknown): void {
  if (!Object.hasOwn(ITEM_WRITES, activityType)) return;
  const write = ITEM_WRITES[activityType as keyof ProjectionActivities] as ItemWrite<unknown>;
  const items = write.count(result);
  if (!(items > 0)) return;
  metrics.fanoutItems.inc({ operation: write.operation }, items);
  const acceptedAt = Date.parse(String((arg as { acceptedAt?: unknown } | undefined)?.acceptedAt));
  if (Number.isFinite(acceptedAt)) recordLag('projected', (Date.now() - acceptedAt) / 1000, items);
}

/**
 * Installed by every worker. Each activity runs inside a log context (workflow id and type, activity type,
 * attempt, and the ids of its first argument), so every line `logger` writes in it carries them; the same ids
 * go on the SDK's activity logger. Logs start, completion and failure, and records the item-write metrics.
 */
export function activityInterceptors(logger: Logger): ActivityInterceptorsFactory {
  return (ctx) => {
    let ids: Record<string, string> = {};
    return {
      inbound: {
        async execute(input, next) {
          const { info } = ctx;
          ids = idsOf(input.args[0]);
          const fields = {
            workflowId: info.workflowExecution?.workflowId,
            workflowType: info.workflowType,
            activityType: info.activityType,
            attempt: info.attempt,
            ...ids,
          };
          return withLogContext(fields, async () => {
            const started = performance.now();
            const durationMs = () => Math.round(performance.now() - started);
            logger.debug('activity started');
            try {
              const result = await next(input);
              recordItemWrites(info.activityType, input.args[0], result);
              logger.debug({ durationMs: durationMs() }, 'activity completed');
              return result;
            } catch (err) {
              const quiet =
                err instanceof CancelledFailure ||
                (err instanceof ApplicationFailure && err.category === ApplicationFailureCategory.BENIGN);
              logger[quiet ? 'debug' : 'warn']({ err, durationMs: durationMs() }, 'activity failed');
              throw err;
            }
          });
        },
      },
      outbound: {
        getLogAttributes: (attrs, next) => next({ ...attrs, ...ids }),
      },
    };
  };
}

/** The SDK's own activity lifecycle lines; the interceptor writes them with the business ids instead. */
const SDK_LIFECYCLE_LINES = new Set(['Activity started', 'Activity completed', 'Activity failed']);

/** The Temporal SDK's logger interface over pino. */
export function temporalLogger(logger: Logger): TemporalLogger {
  const log = (level: LogLevel, message: string, meta: LogMetadata = {}): void => {
    if (meta.sdkComponent === 'worker' && SDK_LIFECYCLE_LINES.has(message)) return;
    // pino serializes errors under `err`; the task token is long and says nothing to a reader.
    const { error, taskToken: _taskToken, ...rest } = meta;
    const method = level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
    logger[method](error === undefined ? rest : { ...rest, err: error }, message);
  };
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}

let runtimeLoggerInstalled = false;

/**
 * Routes the SDK's logs (workflow `log` lines, worker and core messages) to pino. The Temporal runtime is
 * global and takes its logger only when created, so this runs once per process, before any connection; a
 * process that already has a runtime (several test workers) keeps its logger.
 */
export function installRuntimeLogger(logger: Logger): void {
  if (runtimeLoggerInstalled) return;
  runtimeLoggerInstalled = true;
  try {
    Runtime.install({ logger: temporalLogger(logger), telemetryOptions: { logging: { forward: {} } } });
  } catch (err) {
    logger.debug({ err }, 'Temporal runtime already created; its logger stays');
  }
}
