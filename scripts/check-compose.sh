#!/usr/bin/env bash
# Validates docker-compose.yml without a Docker engine: `docker compose config -q` parses and checks the file
# client-side. This machine's docker client has no compose plugin, so the standalone compose binary is built into
# .tools/ by install-tools.sh and used the same way.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# The file demands real tokens at deploy time; a placeholder lets the rest be checked here.
export FEEDFLOW_TOKENS="${FEEDFLOW_TOKENS:-placeholder=validation:commands}"
export CURSOR_SECRET="${CURSOR_SECRET:-placeholder-cursor-secret}"
export GRAFANA_ADMIN_PASSWORD="${GRAFANA_ADMIN_PASSWORD:-placeholder-grafana-password}"
TOOLS="${FEEDFLOW_TOOLS_DIR:-$ROOT/.tools}"
if docker compose version >/dev/null 2>&1; then
  COMPOSE=(docker compose)
elif [[ -x "$TOOLS/bin/docker-compose" ]]; then
  COMPOSE=("$TOOLS/bin/docker-compose")
else
  echo "[check-compose] no compose client: run scripts/install-tools.sh" >&2
  exit 1
fi
"${COMPOSE[@]}" -f docker-compose.yml config -q
echo "[check-compose] docker-compose.yml is valid"
# Prometheus targets, mounted files and Grafana dashboards against the services the file defines.
"${COMPOSE[@]}" -f docker-compose.yml config --format json | node --require tsx/cjs scripts/check-deploy.ts
