#!/usr/bin/env bash
# A one-node Trino (coordinator and worker in one JVM) for development, tests and CI.
#
#   scripts/trino.sh fetch   # the server tarball from Maven (mvn dependency:copy), once, cached
#   scripts/trino.sh start   # unpack, write the config, start, wait until /v1/info says started
#   scripts/trino.sh status  # prints the URL when the server answers, exits 1 otherwise
#   scripts/trino.sh stop
#   scripts/trino.sh url     # the URL tests read from ENCLAVE_TRINO_URL
#   scripts/trino.sh rules   # the rules file tests read from ENCLAVE_TRINO_RULES_FILE
#   scripts/trino.sh warehouse # the catalog's local folder, ENCLAVE_TRINO_WAREHOUSE for tests
#
# Everything lives outside the repository, in ENCLAVE_TRINO_HOME (default: a cache folder under
# $HOME), so a fresh clone reuses the server already fetched on the machine. Trino 476 needs
# Java 24+: ENCLAVE_TRINO_JAVA_HOME (default: the Temurin 25 JDK folder of the machine's JVMs)
# is used for Trino only, never for anything else.
#
# Config written here (see docs/deploy/trino.md): loopback HTTP, a small heap, low task
# concurrency (2 cores shared), one Hive catalog `enclave` with its file metastore on the local
# file system, file-based access control whose rules file the Enclave server rewrites (reloaded
# every second), and only the plugins used (hive) so that startup stays short. Catalog management
# is dynamic: Enclave creates one catalog per SSE-C key at run time (src/engine/trino/catalogs.ts);
# here with the default file catalog store, which writes a created catalog's properties (its
# SSE-C key included) under etc/catalog of this development server; a deployment uses
# catalog.store=memory (docs/deploy/trino.md).
set -euo pipefail

VERSION="${ENCLAVE_TRINO_VERSION:-476}"
HOME_DIR="${ENCLAVE_TRINO_HOME:-$HOME/.cache/enclave/trino-$VERSION}"
PORT="${ENCLAVE_TRINO_PORT:-18080}"
HEAP="${ENCLAVE_TRINO_HEAP:-2G}"
JAVA="${ENCLAVE_TRINO_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
DIST="$HOME_DIR/trino-server-$VERSION"
ETC="$HOME_DIR/etc"
DATA="$HOME_DIR/data"
WAREHOUSE="$HOME_DIR/warehouse"
TARBALL="$HOME_DIR/trino-server-$VERSION.tar.gz"
URL="http://127.0.0.1:$PORT"

log() { echo "trino: $*" >&2; }

fetch() {
  mkdir -p "$HOME_DIR"
  if [ -s "$TARBALL" ]; then return 0; fi
  # A tarball another step already copied (ENCLAVE_TRINO_TARBALL) saves the download.
  if [ -n "${ENCLAVE_TRINO_TARBALL:-}" ] && [ -s "$ENCLAVE_TRINO_TARBALL" ]; then
    cp "$ENCLAVE_TRINO_TARBALL" "$TARBALL.part" && mv "$TARBALL.part" "$TARBALL"
    return 0
  fi
  command -v mvn >/dev/null || { log "mvn not found: install Maven (apt-get install maven) or set ENCLAVE_TRINO_TARBALL"; return 1; }
  log "fetching io.trino:trino-server:$VERSION:tar.gz with Maven (about 800 MB, once)"
  mvn -B -q dependency:copy "-Dartifact=io.trino:trino-server:$VERSION:tar.gz" "-DoutputDirectory=$HOME_DIR" >&2
  [ -s "$TARBALL" ] || { log "Maven finished but $TARBALL is missing"; return 1; }
}

unpack() {
  if [ -x "$DIST/bin/launcher" ]; then return 0; fi
  log "unpacking into $HOME_DIR"
  rm -rf "$DIST.part" && mkdir -p "$DIST.part"
  tar xzf "$TARBALL" -C "$DIST.part" --strip-components=1
  mv "$DIST.part" "$DIST"
}

configure() {
  mkdir -p "$ETC/catalog" "$DATA" "$WAREHOUSE/metastore" "$HOME_DIR/plugins"
  # Only the plugins the config uses: loading all ~60 costs minutes of CPU on a shared machine.
  for p in hive; do ln -sfn "$DIST/plugin/$p" "$HOME_DIR/plugins/$p"; done
  cat >"$ETC/node.properties" <<EOF
node.environment=enclave_dev
node.id=enclave-dev-1
node.data-dir=$DATA
node.bind-ip=127.0.0.1
node.internal-address=127.0.0.1
EOF
  cat >"$ETC/jvm.config" <<EOF
-server
-Xmx$HEAP
-XX:InitialRAMPercentage=5
-XX:+ExplicitGCInvokesConcurrent
-XX:+ExitOnOutOfMemoryError
-XX:+HeapDumpOnOutOfMemoryError
-XX:-OmitStackTraceInFastThrow
-XX:ReservedCodeCacheSize=256M
-XX:PerMethodRecompilationCutoff=10000
-XX:PerBytecodeRecompilationCutoff=10000
-Djdk.attach.allowAttachSelf=true
-Djdk.nio.maxCachedBufferSize=2000000
-Dfile.encoding=UTF-8
-XX:+EnableDynamicAgentLoading
-XX:ActiveProcessorCount=2
EOF
  cat >"$ETC/config.properties" <<EOF
coordinator=true
node-scheduler.include-coordinator=true
http-server.http.port=$PORT
discovery.uri=$URL
plugin.dir=$HOME_DIR/plugins
query.max-memory=1GB
query.max-memory-per-node=512MB
task.concurrency=2
task.max-worker-threads=4
query.min-expire-age=1m
query.client.timeout=30s
catalog.management=dynamic
EOF
  # Workspaces' data: one schema per project, read through the rules below only.
  cat >"$ETC/catalog/enclave.properties" <<EOF
connector.name=hive
hive.metastore=file
hive.metastore.catalog.dir=local:///metastore
fs.native-local.enabled=true
local.location=$WAREHOUSE
hive.storage-format=PARQUET
hive.non-managed-table-writes-enabled=false
hive.security=allow-all
EOF
  # Access control: the Enclave server owns rules.json (src/engine/trino/rules.ts); at each start
  # it is reset so that only the admin user may do anything (no grant of an earlier run survives):
  # exactly accessRules([]) of src/engine/trino/rules.ts (policy.test.ts checks they agree).
  # Reloaded every second, so a revoked permit is cut fast.
  printf '%s\n' '{"catalogs":[{"user":"enclave_admin","allow":"owner"},{"allow":"none"}],"schemas":[{"user":"enclave_admin","owner":true}],"tables":[{"user":"enclave_admin","privileges":["SELECT","INSERT","DELETE","UPDATE","OWNERSHIP","GRANT_SELECT"]}],"functions":[{"user":"enclave_admin","privileges":["EXECUTE","GRANT_EXECUTE","OWNERSHIP"]},{"catalog":"system","schema":"builtin","privileges":["EXECUTE"]}],"procedures":[{"user":"enclave_admin","privileges":["EXECUTE"]}],"queries":[{"user":"enclave_admin","allow":["execute","kill","view"]},{"allow":["execute"]}],"system_session_properties":[{"user":"enclave_admin","allow":true},{"property":"(query_max_execution_time|query_max_run_time|query_max_memory|query_max_total_memory)","allow":true},{"allow":false}],"catalog_session_properties":[{"user":"enclave_admin","allow":true},{"allow":false}]}' >"$ETC/rules.json"
  cat >"$ETC/access-control.properties" <<EOF
access-control.name=file
security.config-file=$ETC/rules.json
security.refresh-period=1s
EOF
}

status() {
  local info
  info="$(curl -fsS --max-time 3 "$URL/v1/info" 2>/dev/null)" || return 1
  case "$info" in *'"starting":false'*) echo "$URL" ;; *) return 1 ;; esac
}

start() {
  if status >/dev/null; then log "already running at $URL"; echo "$URL"; return 0; fi
  [ -x "$JAVA/bin/java" ] || { log "no Java at $JAVA: Trino $VERSION needs Java 24+; set ENCLAVE_TRINO_JAVA_HOME"; return 1; }
  [ -x "$DIST/bin/launcher" ] || { fetch; unpack; }
  configure
  log "starting Trino $VERSION on $URL (log: $DATA/var/log/server.log)"
  JAVA_HOME="$JAVA" PATH="$JAVA/bin:$PATH" "$DIST/bin/launcher" start --etc-dir "$ETC" --data-dir "$DATA" >&2
  local deadline=$((SECONDS + ${ENCLAVE_TRINO_START_TIMEOUT:-600}))
  while [ $SECONDS -lt $deadline ]; do
    if status >/dev/null; then log "started after ${SECONDS}s"; echo "$URL"; return 0; fi
    if ! JAVA_HOME="$JAVA" "$DIST/bin/launcher" status --etc-dir "$ETC" --data-dir "$DATA" >/dev/null 2>&1; then
      log "the server stopped while starting; last lines of its log:"
      tail -n 40 "$DATA/var/log/server.log" >&2 || true
      return 1
    fi
    sleep 2
  done
  log "not started after ${ENCLAVE_TRINO_START_TIMEOUT:-600}s; last lines of its log:"
  tail -n 40 "$DATA/var/log/server.log" >&2 || true
  return 1
}

stop() {
  [ -x "$DIST/bin/launcher" ] || return 0
  JAVA_HOME="$JAVA" "$DIST/bin/launcher" stop --etc-dir "$ETC" --data-dir "$DATA" >&2 || true
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  url) echo "$URL" ;;
  rules) echo "$ETC/rules.json" ;;
  warehouse) echo "$WAREHOUSE" ;;
  home) echo "$HOME_DIR" ;;
  *) echo "usage: scripts/trino.sh fetch|start|stop|status|url|rules|warehouse|home" >&2; exit 2 ;;
esac
