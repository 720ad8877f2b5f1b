#!/usr/bin/env bash
# A one-node Trino (coordinator and worker in one JVM) for development, tests and CI.
#
#   scripts/trino.sh fetch   # the server tarball from Maven (mvn dependency:copy), once, cached
#   scripts/trino.sh start   # unpack, write the config, start, wait until /v1/info says started
#   scripts/trino.sh status  # prints the URL when the server answers, exits 1 otherwise
#   scripts/trino.sh plan    # what start would do: start, reuse, or restart: <why>
#   scripts/trino.sh stop
#   scripts/trino.sh url     # the URL tests read from ENCLAVE_TRINO_URL
#   scripts/trino.sh rules   # the rules file tests read from ENCLAVE_TRINO_RULES_FILE
#   scripts/trino.sh warehouse # the catalog's local folder, ENCLAVE_TRINO_WAREHOUSE for tests
#   scripts/trino.sh tls     # the development CA's folder (ca.pem, server.pem, server-key.pem) Trino trusts
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
# is dynamic with catalog.store=memory, as in a deployment: Enclave creates one catalog per SSE-C
# key at run time (src/engine/trino/catalogs.ts) and no created catalog's properties (its SSE-C
# key) are ever written to disk; a restart forgets them and Enclave creates them again
# (src/engine/trino/catalog-keeper.ts). A memory store ignores etc/catalog: the `enclave` catalog
# (no secret in it) is created with CREATE CATALOG once the server has started.
#
# A server already running is reused only if it was started with the config this script would
# write now (its SHA-256 is kept in started-config.sha256 beside etc); otherwise it is stopped and
# started again with this config (`scripts/trino.sh plan` says which it would do).
# ENCLAVE_TRINO_DIST may name an unpacked trino-server distribution to use instead of the cached one.
set -euo pipefail

VERSION="${ENCLAVE_TRINO_VERSION:-476}"
HOME_DIR="${ENCLAVE_TRINO_HOME:-$HOME/.cache/enclave/trino-$VERSION}"
PORT="${ENCLAVE_TRINO_PORT:-18080}"
HEAP="${ENCLAVE_TRINO_HEAP:-2G}"
JAVA="${ENCLAVE_TRINO_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
DIST="${ENCLAVE_TRINO_DIST:-$HOME_DIR/trino-server-$VERSION}"
ETC="$HOME_DIR/etc"
DATA="$HOME_DIR/data"
WAREHOUSE="$HOME_DIR/warehouse"
TARBALL="$HOME_DIR/trino-server-$VERSION.tar.gz"
URL="http://127.0.0.1:$PORT"
STARTED_HASH="$HOME_DIR/started-config.sha256"
TLS="$HOME_DIR/tls"

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

node_properties() {
  cat <<EOF
node.environment=enclave_dev
node.id=enclave-dev-1
node.data-dir=$DATA
node.bind-ip=127.0.0.1
node.internal-address=127.0.0.1
EOF
}

jvm_config() {
  cat <<EOF
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
  # Trusts the development CA (dev_tls) besides the JDK's own: an object store served over TLS
  # with a certificate of that CA (tests) is reached as a deployment reaches its provider's.
  if [ -s "$TLS/truststore.p12" ]; then
    printf '%s\n' "-Djavax.net.ssl.trustStore=$TLS/truststore.p12" -Djavax.net.ssl.trustStorePassword=changeit -Djavax.net.ssl.trustStoreType=PKCS12
  fi
}

# A development CA, a certificate it signs for 127.0.0.1 and localhost (for a test's object store
# front over TLS), and a truststore for Trino: the JDK's CAs plus this one. Made once under
# <home>/tls (the CA's key stays there, 0600); skipped with a message without openssl or keytool.
dev_tls() {
  [ -s "$TLS/truststore.p12" ] && return 0
  if ! command -v openssl >/dev/null || ! [ -x "$JAVA/bin/keytool" ]; then
    log "no openssl or keytool: no development CA (the TLS object store test will be skipped)"
    return 0
  fi
  rm -rf "$TLS.part" && mkdir -p "$TLS.part" && chmod 700 "$TLS.part"
  (
    cd "$TLS.part"
    umask 077
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 -subj '/CN=Enclave development CA' \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -keyout ca-key.pem -out ca.pem 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '/CN=127.0.0.1' -keyout server-key.pem -out server.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 825 -extfile server.ext -out server.pem 2>/dev/null
    rm -f server.csr server.ext ca.srl
    "$JAVA/bin/keytool" -importkeystore -srckeystore "$JAVA/lib/security/cacerts" -srcstorepass changeit -destkeystore truststore.p12 -deststoretype PKCS12 -deststorepass changeit -noprompt >/dev/null 2>&1
    "$JAVA/bin/keytool" -importcert -alias enclave-dev-ca -file ca.pem -keystore truststore.p12 -storetype PKCS12 -storepass changeit -noprompt >/dev/null 2>&1
  ) || true
  # (errexit does not apply inside a tested subshell: the files say whether every step worked)
  if ! [ -s "$TLS.part/server.pem" ] || ! "$JAVA/bin/keytool" -list -alias enclave-dev-ca -keystore "$TLS.part/truststore.p12" -storepass changeit >/dev/null 2>&1; then
    log "could not make the development CA (the TLS object store test will be skipped)"
    rm -rf "$TLS.part"
    return 0
  fi
  chmod 644 "$TLS.part/ca.pem" "$TLS.part/server.pem" "$TLS.part/truststore.p12"
  rm -rf "$TLS" && mv "$TLS.part" "$TLS"
}

config_properties() {
  cat <<EOF
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
catalog.store=memory
EOF
}

access_control_properties() {
  cat <<EOF
access-control.name=file
security.config-file=$ETC/rules.json
security.refresh-period=1s
EOF
}

# Workspaces' data: one schema per project, read through the rules below only. Created with
# CREATE CATALOG once started (the memory catalog store reads no etc/catalog file).
enclave_catalog_properties() {
  cat <<EOF
hive.metastore=file
hive.metastore.catalog.dir=local:///metastore
fs.native-local.enabled=true
local.location=$WAREHOUSE
hive.storage-format=PARQUET
hive.non-managed-table-writes-enabled=false
hive.security=allow-all
EOF
}

# The SHA-256 of everything the server is started with (not rules.json: the Enclave server
# rewrites it while the server runs).
config_hash() {
  { echo "version=$VERSION dist=$DIST java=$JAVA"; node_properties; jvm_config; config_properties; access_control_properties; enclave_catalog_properties; } | sha256sum | cut -d' ' -f1
}

configure() {
  mkdir -p "$ETC" "$DATA" "$WAREHOUSE/metastore" "$HOME_DIR/plugins"
  # Catalog files of an earlier file-store config (a created catalog's SSE-C key among them) go.
  rm -rf "$ETC/catalog"
  # Only the plugins the config uses: loading all ~60 costs minutes of CPU on a shared machine.
  for p in hive; do ln -sfn "$DIST/plugin/$p" "$HOME_DIR/plugins/$p"; done
  node_properties >"$ETC/node.properties"
  jvm_config >"$ETC/jvm.config"
  config_properties >"$ETC/config.properties"
  # Access control: the Enclave server owns rules.json (src/engine/trino/rules.ts); at each start
  # it is reset so that only the admin user may do anything (no grant of an earlier run survives):
  # exactly accessRules([]) of src/engine/trino/rules.ts (policy.test.ts checks they agree).
  # Reloaded every second, so a revoked permit is cut fast.
  printf '%s\n' '{"catalogs":[{"user":"enclave_admin","allow":"owner"},{"allow":"none"}],"schemas":[{"user":"enclave_admin","owner":true}],"tables":[{"user":"enclave_admin","privileges":["SELECT","INSERT","DELETE","UPDATE","OWNERSHIP","GRANT_SELECT"]}],"functions":[{"user":"enclave_admin","privileges":["EXECUTE","GRANT_EXECUTE","OWNERSHIP"]},{"catalog":"system","schema":"builtin","privileges":["EXECUTE"]}],"procedures":[{"user":"enclave_admin","privileges":["EXECUTE"]}],"queries":[{"user":"enclave_admin","allow":["execute","kill","view"]},{"allow":["execute"]}],"system_session_properties":[{"user":"enclave_admin","allow":true},{"property":"(query_max_execution_time|query_max_run_time|query_max_memory|query_max_total_memory)","allow":true},{"allow":false}],"catalog_session_properties":[{"user":"enclave_admin","allow":true},{"allow":false}]}' >"$ETC/rules.json"
  access_control_properties >"$ETC/access-control.properties"
}

# Runs one statement as the admin user over the client protocol; prints every response (the rows
# are in them), or logs Trino's error message and fails.
sql() {
  local r next out=''
  r="$(curl -fsS --max-time 30 -X POST -H 'X-Trino-User: enclave_admin' -H 'X-Trino-Source: enclave-trino-sh' --data-binary "$1" "$URL/v1/statement")" || return 1
  for _ in $(seq 1 600); do
    case "$r" in *'"error"'*) log "statement failed: $(printf '%s' "$r" | grep -o '"message":"[^"]*"' | head -1 || true)"; return 1 ;; esac
    out="$out$r"$'\n'
    next="$(printf '%s' "$r" | grep -o '"nextUri":"[^"]*"' | head -1 | cut -d'"' -f4 || true)"
    if [ -z "$next" ]; then printf '%s' "$out"; return 0; fi
    sleep 0.1
    r="$(curl -fsS --max-time 30 "$next")" || return 1
  done
  log "statement did not finish: $1"
  return 1
}

# The `enclave` catalog (the development warehouse; no secret in it), unless the server has it.
ensure_enclave_catalog() {
  case "$(sql 'SHOW CATALOGS')" in *'["enclave"]'*) return 0 ;; esac
  local props
  props="$(enclave_catalog_properties | sed "s/'/''/g; s/^\([^=]*\)=\(.*\)\$/\"\1\" = '\2'/" | paste -sd, - | sed 's/,/, /g')"
  sql "CREATE CATALOG enclave USING hive WITH ($props)" >/dev/null
}

# What `start` would do: `start` (nothing answers), `reuse` (it started with this config), or
# `restart: <why>` (it started with another config, or none was recorded).
plan() {
  if ! status >/dev/null; then echo start; return 0; fi
  if ! [ -s "$STARTED_HASH" ]; then echo "restart: no record of the config the running server started with"; return 0; fi
  if [ "$(cat "$STARTED_HASH")" = "$(config_hash)" ]; then echo reuse; else echo "restart: its config differs from the one this script writes now"; fi
}

status() {
  local info
  info="$(curl -fsS --max-time 3 "$URL/v1/info" 2>/dev/null)" || return 1
  case "$info" in *'"starting":false'*) echo "$URL" ;; *) return 1 ;; esac
}

start() {
  local p
  dev_tls
  p="$(plan)"
  case "$p" in
    reuse) ensure_enclave_catalog; log "already running at $URL"; echo "$URL"; return 0 ;;
    restart*) log "${p#restart: }: stopping the server at $URL to start it with this config"; stop; wait_stopped ;;
  esac
  [ -x "$JAVA/bin/java" ] || { log "no Java at $JAVA: Trino $VERSION needs Java 24+; set ENCLAVE_TRINO_JAVA_HOME"; return 1; }
  if ! [ -x "$DIST/bin/launcher" ]; then
    if [ -n "${ENCLAVE_TRINO_DIST:-}" ]; then log "ENCLAVE_TRINO_DIST=$ENCLAVE_TRINO_DIST has no bin/launcher: give an unpacked trino-server-$VERSION"; return 1; fi
    fetch
    unpack
  fi
  configure
  rm -f "$STARTED_HASH"
  log "starting Trino $VERSION on $URL (log: $DATA/var/log/server.log)"
  JAVA_HOME="$JAVA" PATH="$JAVA/bin:$PATH" "$DIST/bin/launcher" start --etc-dir "$ETC" --data-dir "$DATA" >&2
  local deadline=$((SECONDS + ${ENCLAVE_TRINO_START_TIMEOUT:-600}))
  while [ $SECONDS -lt $deadline ]; do
    if status >/dev/null; then
      ensure_enclave_catalog
      config_hash >"$STARTED_HASH"
      log "started after ${SECONDS}s"
      echo "$URL"
      return 0
    fi
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
  rm -f "$STARTED_HASH"
  [ -x "$DIST/bin/launcher" ] || return 0
  JAVA_HOME="$JAVA" "$DIST/bin/launcher" stop --etc-dir "$ETC" --data-dir "$DATA" >&2 || true
}

wait_stopped() {
  for _ in $(seq 1 60); do
    curl -fsS --max-time 2 "$URL/v1/info" >/dev/null 2>&1 || return 0
    sleep 1
  done
  log "the server at $URL still answers after stop"
  return 1
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  plan) plan ;;
  config-hash) config_hash ;;
  tls) [ -s "$TLS/ca.pem" ] && echo "$TLS" ;;
  url) echo "$URL" ;;
  rules) echo "$ETC/rules.json" ;;
  warehouse) echo "$WAREHOUSE" ;;
  home) echo "$HOME_DIR" ;;
  *) echo "usage: scripts/trino.sh fetch|start|stop|status|plan|config-hash|tls|url|rules|warehouse|home" >&2; exit 2 ;;
esac
