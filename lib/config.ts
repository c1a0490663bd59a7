import { resolve } from 'node:path';
import { z } from 'zod';

/**
 * Typed configuration for every feedflow process. Read once at start from the environment; nothing deeper reads
 * process.env. Defaults point at the local stack (`npm run stack -- up`).
 */

const port = z.coerce.number().int().min(1).max(65535);
/** 0 picks a free port (tests). */
const anyPort = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/**
 * Callers are internal services. Each bearer token maps to a service name and its scopes.
 * Format: `token=service:scope1+scope2,token2=service2:scope`. The defaults are documented dev tokens for the
 * local stack only; production overrides FEEDFLOW_TOKENS from its secret store.
 */
export const DEV_TOKENS =
  'dev-commands=dev-writer:commands,dev-queries=dev-reader:queries,dev-ops=dev-operator:operations';

const scopes = ['commands', 'queries', 'operations'] as const;
export type Scope = (typeof scopes)[number];
export interface Caller {
  service: string;
  scopes: Scope[];
}

const tokens = z.string().transform((raw, ctx) => {
  const map = new Map<string, Caller>();
  for (const entry of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([^=]+)=([^:]+):([a-z+]+)$/.exec(entry);
    const granted = m?.[3].split('+') ?? [];
    if (!m || granted.some((s) => !(scopes as readonly string[]).includes(s))) {
      ctx.addIssue({ code: 'custom', message: `bad token entry "${entry.replace(/=.*/, '=…')}"` });
      return z.NEVER;
    }
    map.set(m[1], { service: m[2], scopes: granted as Scope[] });
  }
  return map;
});

/** A rate limit as `points/seconds:burst`, e.g. `30/60:10` is 30 a minute with a burst of 10. */
const rateLimit = z.string().transform((raw, ctx) => {
  const m = /^(\d+)\/(\d+):(\d+)$/.exec(raw.trim());
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `expected points/seconds:burst, got "${raw}"` });
    return z.NEVER;
  }
  return { points: Number(m[1]), seconds: Number(m[2]), burst: Number(m[3]) };
});
export type RateLimit = z.output<typeof rateLimit>;

const DEFAULT_MONGODB_DB = 'feedflow';

const schema = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// or mongodb+srv:// URI')
    .default('mongodb://127.0.0.1:27017/'),
  MONGODB_DB: z.string().min(1).default(DEFAULT_MONGODB_DB),
  /** How long an operation waits for a reachable MongoDB/FerretDB before it fails (a call then answers UNAVAILABLE). */
  MONGODB_SERVER_SELECTION_TIMEOUT_MS: positiveInt.default(1000),
  /**
   * How long opening a connection to MongoDB/FerretDB may take. It also bounds the driver's heartbeat, which marks
   * a server that answers slower as down (failing the operations in flight): keep it well above a busy server's
   * answer time. A server that hangs instead of refusing is noticed after it.
   */
  MONGODB_CONNECT_TIMEOUT_MS: positiveInt.default(10_000),
  /**
   * The PostgreSQL database behind FerretDB, where start-up adds the GIN indexes FerretDB's pushdown needs
   * (stores/pushdown.ts). Read only when MONGODB_URI turns out to be FerretDB; unused on MongoDB.
   */
  FERRETDB_POSTGRESQL_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .default('postgres://feedflow@127.0.0.1:55432/ferretdb'),
  GRAPH_URI: z
    .string()
    .regex(/^(bolt|neo4j)(\+s|\+ssc)?:\/\//, 'must be a bolt:// or neo4j:// URI')
    .default('bolt://127.0.0.1:7687'),
  GRAPH_DIALECT: z.enum(['memgraph', 'neo4j']).default('neo4j'),
  /** A query-side graph read slower than this gives up: feeds leave discovery out, GetNetwork answers UNAVAILABLE. */
  GRAPH_READ_TIMEOUT_MS: positiveInt.default(1000),
  /** The feed cache (L2) and its invalidation streams; feeds are served from the read models while it is down. */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:6379'),
  GRAPH_USER: z.string().default(''),
  GRAPH_PASSWORD: z.string().default(''),
  COMMAND_PORT: port.default(50051),
  QUERY_PORT: port.default(50052),
  OPERATIONS_PORT: port.default(50053),
  /** Where /metrics listens: loopback by default; 0.0.0.0 where Prometheus scrapes from another host. */
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  COMMAND_METRICS_PORT: anyPort.default(9464),
  QUERY_METRICS_PORT: anyPort.default(9465),
  OPERATIONS_METRICS_PORT: anyPort.default(9466),
  PROJECTION_WORKER_METRICS_PORT: anyPort.default(9467),
  PRIORITY_WORKER_METRICS_PORT: anyPort.default(9468),
  RANKING_WORKER_METRICS_PORT: anyPort.default(9469),
  /** The engagement model the ranking worker serves; a schema mismatch stops the worker at start. */
  // The same file as stores/model.ts's DEFAULT_MODEL_PATH, named here so config never loads onnxruntime.
  RANKING_MODEL_PATH: z.string().min(1).default(resolve(__dirname, '../models/engagement-v1.onnx')),
  /** A post's items are re-scored at most once per this interval, however much engagement arrives. */
  RESCORE_DEBOUNCE_MS: positiveInt.default(5_000),
  GRPC_MAX_MESSAGE_BYTES: positiveInt.default(1024 * 1024),
  GRPC_DRAIN_TIMEOUT_MS: positiveInt.default(10_000),
  FEEDFLOW_TOKENS: tokens.prefault(DEV_TOKENS),
  RATE_LIMIT_CREATE_POST: rateLimit.prefault('30/60:10'),
  RATE_LIMIT_DEFAULT: rateLimit.prefault('120/60:30'),
  RATE_LIMITS_ENABLED: bool.prefault('true'),
  MODERATION_MAX_CHARS: positiveInt.default(3000),
  MODERATION_MAX_LINKS: z.coerce.number().int().min(0).default(5),
  MODERATION_MAX_MEDIA: z.coerce.number().int().min(0).default(20),
  MODERATION_BANNED_TERMS: z
    .string()
    .default('spamcoin,buy followers')
    .transform((s) =>
      s
        .split(',')
        .map((t) => t.trim().toLowerCase())
        .filter(Boolean),
    ),
  FEED_CAP: positiveInt.default(1000),
  FANOUT_PAGE_SIZE: positiveInt.default(1000),
  PULL_AUTHOR_THRESHOLD: positiveInt.default(10_000),
  /** Prefixes every task queue, schedule id and deployment-wide workflow id (see sharedNamespaceEnv). */
  TASK_QUEUE_PREFIX: z.string().default(''),
  FEED_WINDOW_SIZE: positiveInt.default(200),
  FEED_HALF_LIFE_HOURS: z.coerce.number().positive().default(24),
  PULL_LOOKBACK_DAYS: z.coerce.number().positive().default(7),
  /** Second-degree members (strongest first) whose recent public posts join a session's candidates; 0: none. */
  FEED_SECOND_DEGREE_AUTHORS: z.coerce.number().int().min(0).default(20),
  CONSISTENCY_MAX_WAIT_MS: positiveInt.default(3000),
  FEED_CACHE_ENABLED: bool.prefault('true'),
  FEED_CACHE_MAX_ENTRIES: positiveInt.default(10_000),
  FEED_SESSION_MAX_AGE_MS: positiveInt.default(3_600_000),
  /** Signs page cursors so tampered ones are refused; set per deployment. */
  CURSOR_SECRET: z.string().min(16, 'must be at least 16 characters').default('feedflow-dev-cursor-secret'),
  /** Test-only fault injection: `exit-after-commit` kills the process between the write-model commit and the
   * workflow start, to prove the outbox sweep recovers the projection. */
  FAULT_INJECTION: z.enum(['none', 'exit-after-commit']).default('none'),
  /** Bounds a projection run (its whole continue-as-new chain): past it the run times out instead of retrying a
   * store that stays down, and ListFailedProjections / ReplayFailedProjections find it. 0: no bound. */
  PROJECTION_TIMEOUT_MS: z.coerce.number().int().min(0).default(0),
  /** A running projection whose activity has failed more than once and which started longer ago than this is
   * stuck: ListFailedProjections lists it, `feedflow_projections_stuck` counts it, ReplayFailedProjections replays it. */
  STUCK_PROJECTION_AFTER_MS: positiveInt.default(180_000),
  /** The command server runs local workers for the projection queues, so its starts are eager: the first
   * workflow task comes back with the start and runs in the same process (see workers/first-hop.ts). */
  FIRST_HOP_WORKERS: bool.prefault('true'),
  /** Background workflow starts a command server runs at once; the rest wait in its queue. */
  HANDOFF_CONCURRENCY: positiveInt.default(32),
  /** Started-not-yet events a command server holds in memory; past it the outbox Schedule starts them. */
  HANDOFF_QUEUE_MAX: positiveInt.default(10_000),
  /** Temporal Schedules the projection worker creates (or updates) at start: checks and the outbox sweep. */
  SCHEDULES_ENABLED: bool.prefault('true'),
  /** Missed scheduled runs older than this are skipped, not caught up. */
  SCHEDULE_CATCHUP_WINDOW_MS: positiveInt.default(60_000),
  CONSISTENCY_RECENT_INTERVAL_MS: positiveInt.default(30_000),
  /** The recent-events check looks this far back. */
  CONSISTENCY_RECENT_WINDOW_MS: positiveInt.default(300_000),
  /** Events younger than this are left to their projection, not checked yet. */
  CONSISTENCY_SETTLE_MS: positiveInt.default(10_000),
  /** An item still unscored this long after projection is a finding. */
  CONSISTENCY_SCORE_WINDOW_MS: positiveInt.default(60_000),
  CONSISTENCY_DEEP_INTERVAL_MS: positiveInt.default(3_600_000),
  /** Members whose feeds the deep check rebuilds in memory and diffs. */
  CONSISTENCY_DEEP_SAMPLE: positiveInt.default(50),
  /** The outbox sweep schedule's interval (events pending longer than OUTBOX_SWEEP_AGE_MS get started). */
  OUTBOX_SCHEDULE_INTERVAL_MS: positiveInt.default(10_000),
  /** Younger pending events are left to the command still completing them. */
  OUTBOX_SWEEP_AGE_MS: positiveInt.default(10_000),
  /** OpenSearch, for post search (SearchPosts) and the search worker that indexes posts. */
  SEARCH_URL: z
    .string()
    .regex(/^https?:\/\//, 'must be an http:// or https:// URL')
    .default('http://127.0.0.1:9200'),
  /** The alias SearchPosts reads and the pipeline writes; '' means `{MONGODB_DB}-posts` (see searchAliasOf). */
  SEARCH_INDEX: z
    .string()
    .regex(/^([a-z0-9][a-z0-9_-]{0,100})?$/, 'must be lower-case letters, digits, _ or -')
    .default(''),
  /** A search request slower than this fails; SearchPosts then answers UNAVAILABLE instead of hanging. */
  SEARCH_TIMEOUT_MS: positiveInt.default(2_000),
  /** Longest query text SearchPosts accepts, in characters. */
  SEARCH_MAX_QUERY_CHARS: positiveInt.default(200),
  SEARCH_WORKER_METRICS_PORT: anyPort.default(9470),
  /** The search check schedule: how often it samples the index against the write model, and how many posts. */
  SEARCH_CHECK_INTERVAL_MS: positiveInt.default(300_000),
  SEARCH_CHECK_SAMPLE: positiveInt.default(200),
});

export type Config = z.output<typeof schema>;

export class ConfigError extends Error {}

/** Parses and validates the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = schema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}

/** The search alias of a deployment: SEARCH_INDEX, else one per database, so tests and the demo never share. */
export function searchAliasOf(config: Pick<Config, 'SEARCH_INDEX' | 'MONGODB_DB'>): string {
  if (config.SEARCH_INDEX) return config.SEARCH_INDEX;
  return `${config.MONGODB_DB.toLowerCase().replace(/[^a-z0-9_-]/g, '-')}-posts`;
}

/**
 * The environment of a deployment that shares its Temporal namespace with others (the demo, benchmarks, tests):
 * unless TASK_QUEUE_PREFIX is set (even to ''), it is the database name and a dash, so two databases on one
 * Temporal never poll each other's task queues or take over each other's schedules. Production keeps the plain
 * default: one deployment per namespace, or an explicit prefix.
 */
export function sharedNamespaceEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (env.TASK_QUEUE_PREFIX !== undefined) return env;
  return { ...env, TASK_QUEUE_PREFIX: `${env.MONGODB_DB || DEFAULT_MONGODB_DB}-` };
}
