#!/usr/bin/env bash
# Fails when proto/ breaks the API against the previous commit (buf's FILE rules: no field renumbered, removed or
# retyped, no RPC removed), so a break never lands silently. A shallow clone is deepened by one commit first; only
# a checkout with no previous commit at all (the first commit, or no git) skips, and says so.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if ! git rev-parse --git-dir >/dev/null 2>&1; then
  echo "[check-breaking] skipped: not a git checkout, no previous commit to compare with"
  exit 0
fi

against=""
if git rev-parse --verify -q 'HEAD~1^{commit}' >/dev/null; then
  against="HEAD~1"
elif [ "$(git rev-parse --is-shallow-repository)" = "true" ]; then
  # A shallow CI clone: fetch the parent, else compare with the merge base of the default branch.
  if git fetch -q --deepen=1 2>/dev/null && git rev-parse --verify -q 'HEAD~1^{commit}' >/dev/null; then
    against="HEAD~1"
  else
    base="$(git merge-base HEAD "$(git rev-parse --abbrev-ref origin/HEAD 2>/dev/null || echo origin/main)" 2>/dev/null || true)"
    if [ -n "$base" ] && [ "$base" != "$(git rev-parse HEAD)" ]; then against="$base"; fi
  fi
  if [ -z "$against" ]; then
    echo "[check-breaking] a shallow clone whose previous commit cannot be fetched: clone with history" >&2
    exit 1
  fi
fi

if [ -z "$against" ]; then
  echo "[check-breaking] skipped: HEAD is the first commit, there is no previous API to break"
  exit 0
fi

npx buf breaking --against ".git#ref=$against"
echo "[check-breaking] proto/ is compatible with $against ($(git rev-parse --short "$against"))"
