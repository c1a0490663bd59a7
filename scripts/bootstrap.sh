#!/usr/bin/env bash
# Installs what a fresh machine lacks: node modules (offline-safe), the workflow bundle every worker loads, and the
# pinned local-stack tools. All are cached: node_modules is reused while package-lock.json is unchanged, the bundle
# while its sources are (scripts/build-bundle.ts), tools while present in .tools/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# onnxruntime-node's postinstall fetches CUDA files from a host this machine cannot reach; the CPU build ships
# inside the package, so skip that step.
export ONNXRUNTIME_NODE_INSTALL=skip

t0=$SECONDS
stamp=node_modules/.feedflow-lock.sha
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ -d node_modules && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "[bootstrap] node modules: cached"
else
  echo "[bootstrap] node modules: npm ci..."
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
  echo "[bootstrap] node modules: done in $((SECONDS - t0))s"
fi

node --require tsx/cjs scripts/build-bundle.ts

bash scripts/install-tools.sh "${1:-all}"
