#!/usr/bin/env bash
# Checks the Prometheus alert rules (deploy/prometheus/rules) with the pinned promtool: syntax and expressions
# (`check rules`), then the unit tests that feed each alert a breach and a quiet scenario (`test rules`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TOOLS="${FEEDFLOW_TOOLS_DIR:-$ROOT/.tools}"
PROMTOOL="$TOOLS/bin/promtool"
if [[ ! -x "$PROMTOOL" ]]; then
  echo "[check-rules] no promtool: run scripts/install-tools.sh all" >&2
  exit 1
fi
"$PROMTOOL" check rules deploy/prometheus/rules/feedflow.rules.yml
"$PROMTOOL" test rules deploy/prometheus/rules/feedflow.rules.test.yml
echo "[check-rules] alert rules valid and their unit tests pass"
