#!/usr/bin/env bash
# Fails when gen/ is not what `buf generate` produces from proto/ (someone edited proto/ without regenerating,
# or edited generated code by hand).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
npx buf generate --output "$tmp"
if ! diff -r "$tmp/gen" gen >/dev/null; then
  diff -r "$tmp/gen" gen | head -20 >&2
  echo "[check-generated] gen/ is stale: run 'npm run generate' and commit the result" >&2
  exit 1
fi
echo "[check-generated] gen/ is up to date"
