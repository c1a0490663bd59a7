#!/usr/bin/env bash
# Local stack of real servers for feedflow (no Docker): Temporal dev server, PostgreSQL 15 with FerretDB on
# top (the MongoDB wire protocol), embedded Neo4j 5.26 over Bolt, Redis 7 (the feed cache and its invalidation
# streams) and embedded OpenSearch 2.19 over HTTP (post search). All bind to 127.0.0.1.
#
#   bash scripts/stack.sh up [name...]        start (all by default) and wait until ready
#   bash scripts/stack.sh down [name...]      stop what this script started (by recorded pid)
#   bash scripts/stack.sh restart <name...>   down + up, e.g. kill Temporal mid fan-out in a test
#   bash scripts/stack.sh status              state, pid, address, log of each server (exit 3 if any stopped)
#   bash scripts/stack.sh logs [name] [-f]    last $LOG_LINES (50) lines of the log(s); -f follows
# Names: temporal, postgres (alias pg), ferretdb (alias mongo), graph (alias neo4j), redis, search (alias
# opensearch). FerretDB stores its data in PostgreSQL, so `up ferretdb` brings PostgreSQL up first.
#
# Everything the servers write lives under one git-ignored folder (override: FEEDFLOW_STACK_DIR):
#   .stack/data/<name>/  .stack/logs/<name>.log  .stack/pids/<name>.pid
# Ports: TEMPORAL_PORT (7233), TEMPORAL_UI_PORT (8233), PG_PORT (55432), MONGO_PORT (27017), GRAPH_PORT (7687),
# REDIS_PORT (6379), SEARCH_PORT (9200).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export FEEDFLOW_TOOLS_DIR="${FEEDFLOW_TOOLS_DIR:-$ROOT/.tools}"
TOOLS="$FEEDFLOW_TOOLS_DIR"
STACK="${FEEDFLOW_STACK_DIR:-$ROOT/.stack}"
DATA="$STACK/data" LOGS="$STACK/logs" PIDS="$STACK/pids"
HOST=127.0.0.1
TEMPORAL_PORT="${TEMPORAL_PORT:-7233}"
TEMPORAL_UI_PORT="${TEMPORAL_UI_PORT:-8233}"
# Not 5432: that is where a system cluster (Debian starts one when the package installs) would listen.
PG_PORT="${PG_PORT:-55432}"
MONGO_PORT="${MONGO_PORT:-27017}"
GRAPH_PORT="${GRAPH_PORT:-7687}"
REDIS_PORT="${REDIS_PORT:-6379}"
# Debian's redis-server 7.0 (scripts/install-tools.sh installs it when missing).
REDIS_BIN="${REDIS_BIN:-/usr/bin/redis-server}"
SEARCH_PORT="${SEARCH_PORT:-9200}"
READY_TIMEOUT="${FEEDFLOW_STACK_TIMEOUT:-120}"  # seconds per server
STOP_TIMEOUT="${FEEDFLOW_STACK_STOP_TIMEOUT:-20}"
LOG_LINES="${LOG_LINES:-50}"
SEARCH_ATTRIBUTES=(PostId AuthorId ViewerId FeedOperation)  # all Keyword, used by the projections
ALL=(temporal postgres ferretdb graph redis search)
# Debian's PostgreSQL 15 (scripts/install-tools.sh installs it when missing). FerretDB keeps every collection in
# one database of it, as one table per collection, under one role; both are created by `up`.
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_ROLE=feedflow PG_DATABASE=ferretdb
# PostgreSQL refuses to run as root, so as root the server runs as an unprivileged system user (Debian's package
# creates `postgres`) that owns only its data folder.
PG_OS_USER=""
if ((EUID == 0)); then PG_OS_USER="${PG_OS_USER_NAME:-postgres}"; fi

# ---------- small helpers ----------
now_ms() { local t="${EPOCHREALTIME/[.,]/}"; echo $((t / 1000)); }
secs_since() { local d=$(($(now_ms) - $1)); printf '%d.%01ds' $((d / 1000)) $((d % 1000 / 100)); }
say() { echo "[stack] $*"; }
die() { echo "[stack] ERROR: $*" >&2; exit 1; }

canon() { # accept a few aliases so `up mongo` / `down neo4j` work too
  case "$1" in
    temporal) echo temporal ;; ferretdb | ferret | mongo | mongodb) echo ferretdb ;;
    postgres | postgresql | pg) echo postgres ;;
    graph | neo4j | bolt) echo graph ;; redis) echo redis ;; search | opensearch) echo search ;;
    *) die "unknown server '$1' (expected: ${ALL[*]})" ;;
  esac
}
# Validates in the main shell (so a bad name really aborts), then lists canonical names.
names_or_all() {
  local n; for n in "$@"; do canon "$n" >/dev/null; done
  if (($#)); then for n in "$@"; do canon "$n"; done; else printf '%s\n' "${ALL[@]}"; fi
}

addr_of() {
  case "$1" in
    temporal) echo "$HOST:$TEMPORAL_PORT" ;; ferretdb) echo "mongodb://$HOST:$MONGO_PORT" ;;
    postgres) echo "postgres://$PG_ROLE@$HOST:$PG_PORT/$PG_DATABASE" ;;
    graph) echo "bolt://$HOST:$GRAPH_PORT" ;; redis) echo "redis://$HOST:$REDIS_PORT" ;;
    search) echo "http://$HOST:$SEARCH_PORT" ;;
  esac
}
port_of() {
  case "$1" in
    temporal) echo "$TEMPORAL_PORT" ;; postgres) echo "$PG_PORT" ;; ferretdb) echo "$MONGO_PORT" ;; graph) echo "$GRAPH_PORT" ;;
    redis) echo "$REDIS_PORT" ;;
    search) echo "$SEARCH_PORT" ;;
  esac
}
log_of() { echo "$LOGS/$1.log"; }
pidfile_of() { echo "$PIDS/$1.pid"; }

# A string that must appear in the command line of a process we started. It guards against pid
# reuse: after a reboot or crash the recorded pid may belong to something else, which we must
# never signal.
marker_of() {
  case "$1" in
    temporal) echo "$TOOLS/bin/temporal" ;; ferretdb) echo "$TOOLS/bin/ferretdb" ;;
    postgres) echo "$PG_BIN/postgres" ;; graph) echo "feedflow.graph.GraphServer" ;;
    redis) echo "redis-server $HOST:$REDIS_PORT" ;;
    search) echo "feedflow.search.SearchServer" ;;
  esac
}

# Prints the pid if the recorded process is alive and is ours; removes a stale pid file.
running_pid() {
  local f pid args
  f="$(pidfile_of "$1")"
  [[ -f "$f" ]] || return 1
  pid="$(<"$f")"
  if [[ "$pid" =~ ^[0-9]+$ ]] && args="$(ps -o args= -p "$pid" 2>/dev/null)" && [[ "$args" == *"$(marker_of "$1")"* ]]; then
    echo "$pid"; return 0
  fi
  rm -f "$f"
  return 1
}

tcp_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }

# ---------- how to run each server ----------
cmd_of() {
  case "$1" in
    temporal)
      # --db-filename persists workflows across restarts (WAL keeps that: a workflow started before a kill -TERM
      # or kill -9 completes after the restart); warn keeps the log readable. Each flag was chosen by
      # `npm run bench:temporal` on a private dev server, all flags on vs that one off (README, "Temporal server
      # tuning"); figures are one activity at c=32 in wf/s, and its p50 at c=1.
      # TEMPORAL_DYNAMIC_CONFIG adds more as space-separated KEY=JSON pairs; a later value wins.
      local dc=() kv
      # Readers stop waiting on the writer: 15 -> 40 wf/s, p50 84 -> 30 ms.
      dc+=(--sqlite-pragma journal_mode=WAL)
      # One fsync per checkpoint, not per commit; a crashed process loses nothing, only a crashed OS might: 25 ->
      # 40 wf/s, p50 47 -> 30 ms.
      dc+=(--sqlite-pragma synchronous=NORMAL)
      # The flat ~50 ms per hop: the one history shard reads new transfer tasks at most 20 times a second by
      # default, so each workflow or activity task waited up to 50 ms: p50 100 -> 30 ms (three activities
      # 200 -> 47 ms); throughput unchanged.
      dc+=(--dynamic-config-value history.transferProcessorMaxPollRPS=1000)
      # An activity goes back to its worker in the workflow task's completion: three activities p50 70 -> 47 ms.
      dc+=(--dynamic-config-value system.enableActivityEagerExecution=true)
      # One partition per task queue, so a poller always waits where a task lands (no forwarding between four
      # partitions on a one-process server): p50 50 -> 30 ms, empty workflows 36 -> 73 wf/s.
      dc+=(--dynamic-config-value matching.numTaskqueueReadPartitions=1)
      dc+=(--dynamic-config-value matching.numTaskqueueWritePartitions=1)
      for kv in ${TEMPORAL_DYNAMIC_CONFIG:-}; do dc+=(--dynamic-config-value "$kv"); done
      printf '%s\0' "$TOOLS/bin/temporal" server start-dev --ip "$HOST" --port "$TEMPORAL_PORT" \
        --ui-port "$TEMPORAL_UI_PORT" --db-filename "$DATA/temporal/temporal.db" \
        --namespace default --log-level warn "${dc[@]}"
      ;;
    postgres)
      # TCP on loopback only, no Unix socket (its default folder belongs to the system's own cluster). The
      # settings size it for a 2-core dev box; durability stays at PostgreSQL's defaults (fsync, synchronous
      # commit), so what the benchmarks measure is what a committed write really costs.
      local as=()
      [[ -n "$PG_OS_USER" ]] && as=(setpriv --reuid="$PG_OS_USER" --regid="$PG_OS_USER" --init-groups --)
      printf '%s\0' "${as[@]}" "$PG_BIN/postgres" -D "$DATA/postgres" -c listen_addresses="$HOST" -p "$PG_PORT" \
        -c unix_socket_directories= -c max_connections=200 -c shared_buffers=512MB -c effective_cache_size=4GB \
        -c work_mem=16MB -c maintenance_work_mem=256MB -c random_page_cost=1.1 -c log_min_messages=warning \
        -c log_min_duration_statement="${PG_LOG_SLOW_MS:--1}"
      ;;
    ferretdb)
      # PostgreSQL backend (one schema per database, one table per collection); the debug HTTP listener (8088 by
      # default) is switched off so it cannot clash with anything; telemetry is off; state.json stays in .stack.
      # Nested pushdown sends `{'actor.id': x}` to PostgreSQL as `_jsonb #> '{actor,id}' @> ...`, which a GIN
      # index serves (stores/pushdown.ts); FerretDB re-checks every document against the whole filter anyway.
      printf '%s\0' "$TOOLS/bin/ferretdb" --handler=postgresql \
        --postgresql-url="postgres://$PG_ROLE@$HOST:$PG_PORT/$PG_DATABASE" --test-enable-nested-pushdown \
        --listen-addr="$HOST:$MONGO_PORT" --debug-addr=- --telemetry=disable \
        --state-dir="$DATA/ferretdb" --log-level="${FERRETDB_LOG_LEVEL:-info}"
      ;;
    graph)
      # Heap and page cache are kept small for a 2-core dev box; the --add-opens flags are the
      # ones the Neo4j server scripts pass on Java 17 (Netty and the page cache need them).
      # shellcheck disable=SC2086  # GRAPH_JAVA_OPTS is a list of flags on purpose
      printf '%s\0' java ${GRAPH_JAVA_OPTS:--Xms256m -Xmx1g} -XX:+UseG1GC -XX:-OmitStackTraceInFastThrow \
        --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
        --add-opens=java.base/sun.nio.ch=ALL-UNNAMED -Dio.netty.tryReflectionSetAccessible=true \
        -cp "$TOOLS/neo4j/graph-server.jar:$TOOLS/neo4j/lib/*" feedflow.graph.GraphServer "$DATA/graph"
      ;;
    redis)
      # A cache, so no persistence: a restarted Redis starts empty and readers rebuild what they need (the feed
      # cache proves every entry against the invalidation streams). No Unix socket, loopback only, protected mode
      # on; the memory cap evicts least-recently-used keys like the production cache. The process title (host:port)
      # is what `down` recognises it by.
      printf '%s\0' "$REDIS_BIN" --bind "$HOST" --port "$REDIS_PORT" --unixsocket '' --save '' --appendonly no \
        --dir "$DATA/redis" --maxmemory "${REDIS_MAXMEMORY:-512mb}" --maxmemory-policy allkeys-lru \
        --daemonize no --loglevel warning
      ;;
    search)
      # A bounded heap (OpenSearch's own default is half the machine); the node's data, config and logs stay under
      # .stack/data/search. Log4j's own shutdown hook is off so the launcher's hook can still log the clean stop.
      # shellcheck disable=SC2086  # SEARCH_JAVA_OPTS is a list of flags on purpose
      printf '%s\0' java ${SEARCH_JAVA_OPTS:--Xms512m -Xmx512m} -XX:+UseG1GC -XX:-OmitStackTraceInFastThrow \
        -Dlog4j2.shutdownHookEnabled=false -Dio.netty.allocator.numDirectArenas=0 \
        -cp "$TOOLS/opensearch/search-server.jar:$TOOLS/opensearch/lib/*" feedflow.search.SearchServer "$DATA/search"
      ;;
  esac
}

# ---------- readiness: a real protocol check, not just an open port ----------
ready_check() { # name, log byte offset at start
  case "$1" in
    temporal)
      "$TOOLS/bin/temporal" operator cluster health --address "$HOST:$TEMPORAL_PORT" \
        --command-timeout 3s 2>/dev/null | grep -q SERVING
      ;;
    postgres)
      "$PG_BIN/pg_isready" -q -h "$HOST" -p "$PG_PORT" -U "$PG_ROLE" -d postgres -t 2
      ;;
    ferretdb)
      # A real MongoDB ping when the driver is installed; otherwise the open port has to do.
      # (Not both: a bare TCP probe makes FerretDB log a "connection reset" warning each time.)
      if [[ -d "$ROOT/node_modules/mongodb" ]] && command -v node >/dev/null; then
        (cd "$ROOT" && MONGO_URL="mongodb://$HOST:$MONGO_PORT" timeout 10 node -e '
          const { MongoClient } = require("mongodb");
          const c = new MongoClient(process.env.MONGO_URL, { serverSelectionTimeoutMS: 1000 });
          c.db("admin").command({ ping: 1 }).then(r => process.exit(r.ok === 1 ? 0 : 1), () => process.exit(1))
           .finally(() => c.close());' >/dev/null 2>&1)
      else
        tcp_open "$MONGO_PORT"
      fi
      ;;
    redis)
      [[ "$(timeout 3 redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
      ;;
    graph)
      # The launcher prints this line only after Bolt listens and the default database is online.
      tail -c +"$(($2 + 1))" "$(log_of graph)" 2>/dev/null | grep -q '^GraphServer ready' && tcp_open "$GRAPH_PORT"
      ;;
    search)
      # Printed once HTTP listens and the node has elected itself and recovered its indices (status yellow).
      tail -c +"$(($2 + 1))" "$(log_of search)" 2>/dev/null | grep -q 'SearchServer ready' && tcp_open "$SEARCH_PORT"
      ;;
  esac
}

show_failure() { # name, reason
  local log; log="$(log_of "$1")"
  echo "[stack] ERROR: $1 $2. Log: $log (last 20 lines below)" >&2
  tail -n 20 "$log" >&2 2>/dev/null || true
  echo "[stack] Other servers are left as they are; 'bash scripts/stack.sh down' stops them." >&2
}

# Idempotent: only attributes missing from the list are created (creating an existing one is
# rejected with "already exists", which we also accept, e.g. when two `up`s race).
list_missing_attributes() {
  local name list
  list="$("$TOOLS/bin/temporal" operator search-attribute list --namespace default \
    --address "$HOST:$TEMPORAL_PORT" --command-timeout 10s 2>&1)" || { echo "$list" >&2; die "temporal: cannot list search attributes"; }
  for name in "${SEARCH_ATTRIBUTES[@]}"; do
    grep -Eq "^[[:space:]]*$name[[:space:]]+Keyword[[:space:]]*\$" <<<"$list" || printf '%s ' "$name"
  done
}
register_search_attributes() {
  local t0 out name list missing=()
  t0=$(now_ms)
  # Plain assignments (not <(...)) so that a failing list aborts the script under set -e.
  list="$(list_missing_attributes)"
  read -ra missing <<<"$list"
  for name in "${missing[@]}"; do
    if ! out="$("$TOOLS/bin/temporal" operator search-attribute create --name "$name" --type Keyword \
      --namespace default --address "$HOST:$TEMPORAL_PORT" --command-timeout 10s 2>&1)"; then
      [[ "$out" == *"already exists"* ]] || { echo "$out" >&2; die "temporal: could not create search attribute $name"; }
    fi
  done
  # Verify: the SQLite dev server maps custom attributes onto a fixed number of columns per
  # type, so a create can fail once they are used up; check every one is listed as Keyword.
  list="$(list_missing_attributes)"
  read -ra missing <<<"$list"
  ((${#missing[@]} == 0)) || die "temporal: search attributes not registered: ${missing[*]}"
  say "temporal: search attributes ${SEARCH_ATTRIBUTES[*]} (Keyword) ok in $(secs_since "$t0")"
}

# ---------- PostgreSQL: a cluster of our own under .stack, initialised once ----------
pg_init() {
  local dir="$DATA/postgres" version
  [[ -x "$PG_BIN/postgres" ]] || die "postgres: $PG_BIN/postgres not found; 'bash scripts/install-tools.sh' installs Debian's postgresql-15"
  version="$("$PG_BIN/postgres" --version)"
  [[ "$version" == *"PostgreSQL) 15."* ]] || die "postgres: need PostgreSQL 15, $PG_BIN/postgres is '$version'"
  [[ -f "$dir/PG_VERSION" ]] && return 0
  mkdir -p "$dir" && chmod 700 "$dir"
  local as=()
  if [[ -n "$PG_OS_USER" ]]; then
    id -u "$PG_OS_USER" >/dev/null 2>&1 || die "postgres: system user '$PG_OS_USER' missing (Debian's postgresql package creates it; PG_OS_USER_NAME picks another)"
    chown "$PG_OS_USER:" "$dir"
    as=(setpriv --reuid="$PG_OS_USER" --regid="$PG_OS_USER" --init-groups --)
  fi
  say "postgres: initialising a cluster in $dir ($version)"
  # Trust on loopback only: the cluster listens on 127.0.0.1 and holds nothing but dev data.
  (cd "$dir" && "${as[@]}" "$PG_BIN/initdb" -D "$dir" -U "$PG_ROLE" --auth=trust -E UTF8 --locale=C.UTF-8) \
    >>"$(log_of postgres)" 2>&1 || { show_failure postgres "initdb failed"; exit 1; }
}

# FerretDB needs its database to exist before it starts; creating it twice is harmless.
pg_prepare() {
  local psql=("$PG_BIN/psql" -h "$HOST" -p "$PG_PORT" -U "$PG_ROLE" -d postgres -tAq -v ON_ERROR_STOP=1)
  if [[ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")" != 1 ]]; then
    "${psql[@]}" -c "CREATE DATABASE $PG_DATABASE" >/dev/null 2>&1 \
      || [[ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")" == 1 ]] \
      || die "postgres: could not create database $PG_DATABASE"
    say "postgres: created database $PG_DATABASE"
  fi
}

# ---------- start / stop ----------
# Starts one server in its own session (setsid) so it outlives this shell and its terminal.
# The wrapper writes its own pid ($$) before exec'ing the server, so the pid file holds the
# server's real pid even if setsid had to fork. It also closes every inherited fd above 2:
# otherwise a pipe from whoever ran us (`stack.sh up | tee`, `$(...)`, a CI step) stays open
# in the daemon and the caller hangs until the stack is stopped.
# Sets LAUNCH_PID and LAUNCH_OFFSET (where this run's output starts in the log, so the
# readiness check never matches a line from an earlier run).
launch() {
  local name="$1" log pidfile i part cmd=()
  log="$(log_of "$name")" pidfile="$(pidfile_of "$name")"
  mkdir -p "$LOGS" "$PIDS"
  [[ "$name" == postgres ]] && pg_init
  mkdir -p "$DATA/$name"
  while IFS= read -r -d '' part; do cmd+=("$part"); done < <(cmd_of "$name")
  if tcp_open "$(port_of "$name")"; then
    die "$name: port $(port_of "$name") on $HOST is already taken by a process this script did not start; stop it or set another port"
  fi
  printf '\n===== %s start %s =====\n' "$name" "$(date -Is)" >>"$log"
  LAUNCH_OFFSET=$(stat -c %s "$log")
  rm -f "$pidfile"
  # `exec` at every level: no intermediate shell lingers holding our stdout.
  (cd "$DATA/$name" && GRAPH_PORT="$GRAPH_PORT" SEARCH_PORT="$SEARCH_PORT" exec setsid bash -c '
      echo $$ >"$0"
      for fd in $(ls /proc/$$/fd 2>/dev/null); do ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null; done
      exec "$@"' "$pidfile" "${cmd[@]}") </dev/null >>"$log" 2>&1 &
  for ((i = 0; i < 50; i++)); do [[ -s "$pidfile" ]] && break; sleep 0.1; done
  [[ -s "$pidfile" ]] || { show_failure "$name" "did not record a pid"; exit 1; }
  LAUNCH_PID="$(<"$pidfile")"
}

wait_ready() { # name pid offset t0
  local name="$1" pid="$2" offset="$3" t0="$4"
  while ! ready_check "$name" "$offset"; do
    if ! kill -0 "$pid" 2>/dev/null; then show_failure "$name" "exited before it became ready"; return 1; fi
    if (($(now_ms) - t0 > READY_TIMEOUT * 1000)); then
      show_failure "$name" "not ready after ${READY_TIMEOUT}s (pid $pid still running)"; return 1
    fi
    sleep 0.5
  done
  say "$name: ready at $(addr_of "$name") in $(secs_since "$t0") (pid $pid)"
}

cmd_up() {
  local t_all name pid t0 names=() to_wait=()
  t_all=$(now_ms)
  names_or_all "$@" >/dev/null
  mapfile -t names < <(names_or_all "$@")
  # FerretDB needs PostgreSQL: bring it up first even when only ferretdb was named.
  if [[ " ${names[*]} " == *" ferretdb "* && " ${names[*]} " != *" postgres "* ]]; then names=(postgres "${names[@]}"); fi
  command -v setsid >/dev/null || die "setsid (util-linux) is required"
  say "tools: checking (builds only what is missing)..."
  t0=$(now_ms)
  bash "$ROOT/scripts/install-tools.sh" stack | sed 's/^/  /'
  say "tools: ok in $(secs_since "$t0")"
  # Start everything first, then wait: the JVM and Temporal warm up in parallel.
  declare -A pid_of=() off_of=() t0_of=() waited=()
  for name in "${names[@]}"; do
    if [[ "$name" == ferretdb && -n "${pid_of[postgres]:-}" && -z "${waited[postgres]:-}" ]]; then
      wait_ready postgres "${pid_of[postgres]}" "${off_of[postgres]}" "${t0_of[postgres]}" || exit 1
      pg_prepare
      waited[postgres]=1
    fi
    if pid="$(running_pid "$name")"; then
      # Still check readiness: another `up` may have started it a moment ago.
      say "$name: already running (pid $pid), checking it is ready"
      t0_of[$name]=$(now_ms) pid_of[$name]=$pid
      off_of[$name]=$(grep -b "^===== $name start" "$(log_of "$name")" 2>/dev/null | tail -n 1 | cut -d: -f1 || echo 0)
      to_wait+=("$name")
      continue
    fi
    if [[ "$name" == graph || "$name" == search ]] && ! command -v java >/dev/null; then die "$name: java (17+) not found"; fi
    if [[ "$name" == redis && ! -x "$REDIS_BIN" ]]; then die "redis: $REDIS_BIN not found; 'bash scripts/install-tools.sh' installs Debian's redis-server"; fi
    t0_of[$name]=$(now_ms)
    launch "$name"
    pid_of[$name]=$LAUNCH_PID off_of[$name]=$LAUNCH_OFFSET
    say "$name: started (pid $LAUNCH_PID), log $(log_of "$name")"
    to_wait+=("$name")
  done
  for name in "${to_wait[@]}"; do
    [[ -n "${waited[$name]:-}" ]] && continue
    wait_ready "$name" "${pid_of[$name]}" "${off_of[$name]}" "${t0_of[$name]}" || exit 1
  done
  # Search attributes are part of "Temporal is usable", so check them even if it was already up.
  if [[ " ${names[*]} " == *" temporal "* ]]; then
    register_search_attributes
    say "Temporal UI: http://$HOST:$TEMPORAL_UI_PORT"
  fi
  say "up: done in $(secs_since "$t_all")"
}

stop_one() {
  local name="$1" pid t0 i
  if ! pid="$(running_pid "$name")"; then say "$name: not running"; rm -f "$(pidfile_of "$name")"; return 0; fi
  t0=$(now_ms)
  # PostgreSQL's SIGTERM waits for every client to disconnect; SIGINT is its fast shutdown (clean, but it closes
  # client connections). Everything else stops on SIGTERM.
  local sig=TERM
  [[ "$name" == postgres ]] && sig=INT
  # The server leads its own session/process group (setsid), so signalling the group also
  # reaches any helper it spawned, and nothing outside it.
  kill -"$sig" -- "-$pid" 2>/dev/null || kill -"$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    say "$name: still running after ${STOP_TIMEOUT}s, sending SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 25; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -f "$(pidfile_of "$name")"
  say "$name: stopped (pid $pid) in $(secs_since "$t0")"
}

cmd_down() {
  local t0 names=() i j
  t0=$(now_ms)
  names_or_all "$@" >/dev/null
  mapfile -t names < <(names_or_all "$@")
  # Stop in parallel: each server needs a few seconds to shut down cleanly (Neo4j checkpoints,
  # Temporal drains), and they do not depend on each other.
  local jobs=() rc=0
  for ((i = 0; i < ${#names[@]}; i++)); do stop_one "${names[i]}" & jobs+=($!); done
  for j in "${jobs[@]}"; do wait "$j" || rc=1; done
  say "down: done in $(secs_since "$t0")"
  return $rc
}

cmd_status() {
  local name pid any_stopped=0
  printf '%-9s %-8s %-8s %-28s %s\n' SERVER STATE PID ADDRESS LOG
  for name in "${ALL[@]}"; do
    if pid="$(running_pid "$name")"; then
      printf '%-9s %-8s %-8s %-28s %s\n' "$name" running "$pid" "$(addr_of "$name")" "$(log_of "$name")"
    else
      any_stopped=1
      printf '%-9s %-8s %-8s %-28s %s\n' "$name" stopped - "$(addr_of "$name")" "$(log_of "$name")"
    fi
  done
  echo "Temporal UI: http://$HOST:$TEMPORAL_UI_PORT"
  return $((any_stopped ? 3 : 0))
}

cmd_logs() {
  local follow=0 names=() args=() name
  for a in "$@"; do if [[ "$a" == -f ]]; then follow=1; else args+=("$a"); fi; done
  names_or_all "${args[@]}" >/dev/null
  mapfile -t names < <(names_or_all "${args[@]}")
  if ((follow)); then
    local files=(); for name in "${names[@]}"; do files+=("$(log_of "$name")"); done
    exec tail -n "$LOG_LINES" -F "${files[@]}"
  fi
  for name in "${names[@]}"; do
    echo "==> $(log_of "$name") <=="
    tail -n "$LOG_LINES" "$(log_of "$name")" 2>/dev/null || echo "(no log yet)"
  done
}

usage() { sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  restart) shift; (($#)) || die "restart needs a server name (${ALL[*]})"; cmd_down "$@"; cmd_up "$@" ;;
  status) cmd_status ;;
  logs) shift; cmd_logs "$@" ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 2 ;;
esac
