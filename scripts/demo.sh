#!/usr/bin/env bash
# The main job (`npm run demo`): installs what is missing, starts the local stack, the workers and the gRPC
# services, then runs the scripted story in scripts/demo.ts and prints what happened.
# Leaves everything running for grpcurl until Ctrl-C; `npm run demo -- --exit` stops the app processes and exits.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
STACK="${FEEDFLOW_STACK_DIR:-$ROOT/.stack}"
mkdir -p "$STACK/logs" "$STACK/pids"
EXIT_AFTER=0
for a in "$@"; do [[ "$a" == --exit ]] && EXIT_AFTER=1; done

# Only what the stack and the story need; the test-only tools (ghz, the compose client) are left to `npm test`.
bash scripts/bootstrap.sh stack
bash scripts/stack.sh up

# Its database, its own task queues and schedules on the shared Temporal, and the demo's thresholds.
source scripts/demo-env.sh
APPS=(command:services/command/server.ts query:services/query/server.ts worker-projection:workers/projection.ts)
[[ -f workers/priority.ts ]] && APPS+=(worker-priority:workers/priority.ts)
[[ -f workers/ranking.ts ]] && APPS+=(worker-ranking:workers/ranking.ts)
[[ -f services/operations/server.ts ]] && APPS+=(operations:services/operations/server.ts)
[[ -f workers/search.ts ]] && APPS+=(worker-search:workers/search.ts)

# A demo database left by an older version of the story is reset before anything opens it.
node --require tsx/cjs scripts/demo-prepare.ts

stop_apps() {
  local entry name pid
  for entry in "${APPS[@]}"; do
    name="${entry%%:*}"
    [[ -f "$STACK/pids/$name.pid" ]] || continue
    pid="$(cat "$STACK/pids/$name.pid")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$STACK/pids/$name.pid"
  done
}

# Every app the story depends on, as `--app name,pid,log`: the story fails fast, naming the app and its log, if
# one exits or a wait passes its deadline.
WATCH=()
for entry in "${APPS[@]}"; do
  name="${entry%%:*}" file="${entry#*:}"
  pidfile="$STACK/pids/$name.pid" log="$STACK/logs/$name.log"
  if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "[demo] $name: already running (pid $(cat "$pidfile"))"
  else
    setsid node --require tsx/cjs "$file" >>"$log" 2>&1 < /dev/null &
    echo $! > "$pidfile"
    echo "[demo] $name: started (pid $!, log $log)"
  fi
  WATCH+=(--app "$name,$(cat "$pidfile"),$log")
done

trap 'stop_apps; exit 0' INT TERM
if ! node --require tsx/cjs scripts/demo.ts "${WATCH[@]}"; then
  stop_apps
  echo "[demo] failed; app processes stopped (logs in $STACK/logs/)" >&2
  exit 1
fi

if ((EXIT_AFTER)); then
  stop_apps
  echo "[demo] app processes stopped; the stack stays up (npm run stack -- down to stop it)"
  exit 0
fi
echo "[demo] services are running; press Ctrl-C to stop them"
while sleep 3600; do :; done
