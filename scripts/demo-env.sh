# The demo deployment's settings, sourced by scripts/demo.sh (and by test/ops/isolation.test.ts, which checks them).
export MONGODB_DB="${MONGODB_DB:-feedflow_demo}"
# The local Temporal namespace is shared with test runs, benchmarks and other demos: the demo's task queues and
# schedule ids carry its database name, so none of them polls its queues or takes over its schedules. Set
# TASK_QUEUE_PREFIX (even to '') to choose otherwise; lib/config.ts's sharedNamespaceEnv is the same rule.
export TASK_QUEUE_PREFIX="${TASK_QUEUE_PREFIX-$MONGODB_DB-}"
# A few hundred members: the famous author crosses a lower pull threshold than production's 10,000, so the demo
# shows the hybrid fan-out. Seeding is a bulk import, so the per-member rate limits are off for it.
export PULL_AUTHOR_THRESHOLD="${PULL_AUTHOR_THRESHOLD:-100}"
export RATE_LIMITS_ENABLED="${RATE_LIMITS_ENABLED:-false}"
