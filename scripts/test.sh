#!/usr/bin/env bash
# The test command (`npm test`): static checks, then the mocha suite against the real local stack.
# Starts the stack if it is not running, and stops it again afterwards in that case.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

step() {
  local name="$1"; shift
  local t0=$SECONDS
  echo "[test] $name..."
  "$@"
  echo "[test] $name: ok in $((SECONDS - t0))s"
}

step "bootstrap" bash scripts/bootstrap.sh
step "typecheck" npx tsc --noEmit -p .
step "eslint" npx eslint .
step "prettier" npx prettier --check . --log-level warn
step "buf lint" npx buf lint
step "buf breaking against the previous commit" bash scripts/check-breaking.sh
step "generated code up to date" bash scripts/check-generated.sh
step "docker-compose.yml" bash scripts/check-compose.sh
step "alert rules" bash scripts/check-rules.sh

if bash scripts/stack.sh status >/dev/null 2>&1; then
  echo "[test] stack: already running, leaving it up"
else
  trap 'bash scripts/stack.sh down' EXIT
  step "stack up" bash scripts/stack.sh up
fi

step "mocha" npx mocha 'test/**/*.test.ts' "$@"
