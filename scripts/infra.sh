#!/usr/bin/env bash
# Local infrastructure for Evently without Docker: PostgreSQL 15, Redis,
# Kafka 4.1 (KRaft, single node) and Mailpit (SMTP catcher), each run as a
# plain process whose data, logs and pid files live under $EVENTLY_DATA_DIR.
#
#   scripts/infra.sh up             install/fetch what is missing, start, wait
#   scripts/infra.sh status         print up/down per server (exit 1 if any down)
#   scripts/infra.sh down [--purge] stop what this script started; --purge also
#                                   deletes server data (keeps fetched jars/binaries)
#
# Everything is idempotent: a server that already answers at its configured
# address is left alone, and downloads/builds are reused from the data dir.
# SC2153: *_HOST/*_PORT are assigned indirectly by split_addr; SC2016: the
# single-quoted `bash -c` bodies are meant to expand in the child shell.
# shellcheck disable=SC2153,SC2016
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---------------------------------------------------------------- config ----
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
PG_USER=${PG_USER:-evently}
PG_PASSWORD=${PG_PASSWORD:-evently}
PG_DATABASE=${PG_DATABASE:-evently}
PG_MAJOR=${PG_MAJOR:-15}

REDIS_ADDR=${REDIS_ADDR:-127.0.0.1:6379}

KAFKA_BOOTSTRAP=${KAFKA_BOOTSTRAP:-127.0.0.1:9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}

SMTP_ADDR=${SMTP_ADDR:-127.0.0.1:1025}
MAILPIT_UI=${MAILPIT_UI:-127.0.0.1:8025}
MAILPIT_VERSION=${MAILPIT_VERSION:-v1.33.1}
# Older release that is known to build, tried only if MAILPIT_VERSION fails.
MAILPIT_FALLBACK_VERSION=${MAILPIT_FALLBACK_VERSION:-v1.27.11}

split_addr "$REDIS_ADDR" REDIS
split_addr "$KAFKA_BOOTSTRAP" KAFKA
split_addr "$SMTP_ADDR" SMTP
split_addr "$MAILPIT_UI" UI

BIN_DIR="$EVENTLY_DATA_DIR/bin"
REDIS_DIR="$EVENTLY_DATA_DIR/redis"
MAILPIT_DIR="$EVENTLY_DATA_DIR/mailpit"
KAFKA_DATA="$KAFKA_HOME/data"
KAFKA_LOGS="$KAFKA_HOME/logs"

# Start a long-running server detached in its own session: it must outlive
# this script, the caller's terminal and CI step, and never get their SIGHUP or
# SIGINT. The inner shell writes its own pid before exec'ing the server, so the
# pid file is right whether or not setsid had to fork.
spawn() {
  local pidfile=$1 logfile=$2; shift 2
  rm -f "$pidfile"
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" >>"$logfile" 2>&1 </dev/null 9>&- &
  wait_until 5 test -s "$pidfile" || die "could not spawn $1"
}

# ============================================================ PostgreSQL ====
# postgres refuses to run as root, so as root every cluster operation runs as
# the postgres OS user; from / so that an unreadable cwd (e.g. /root) does not
# break it. As a normal user the cluster simply belongs to that user.
if is_root; then PG_OS_USER=postgres; else PG_OS_USER=$(id -un); fi
as_pg() {
  if is_root; then (cd / && runuser -u postgres -- "$@"); else (cd / && "$@"); fi
}

# pg_find_bin [install]: only `up` may install; status/down just look.
pg_find_bin() {
  if [[ -n ${PG_BIN:-} ]]; then return 0; fi
  local d="/usr/lib/postgresql/$PG_MAJOR/bin"
  if [[ ! -x $d/initdb && ${1:-} == install ]] && is_root; then
    log "installing postgresql-$PG_MAJOR via apt-get ..."
    apt_install "postgresql-$PG_MAJOR" || die "apt-get install postgresql-$PG_MAJOR failed"
  fi
  [[ -x $d/initdb ]] || die "PostgreSQL $PG_MAJOR server binaries not found in $d (set PG_BIN)"
  PG_BIN=$d
}

# Where the cluster lives. Normally $EVENTLY_DATA_DIR/postgres; but when the
# repo is somewhere the postgres user cannot traverse (e.g. under /root, mode
# 0700) we must not loosen permissions on the user's home, so the cluster goes
# under /var/lib and $EVENTLY_DATA_DIR/postgres becomes a symlink to it. Once
# chosen, the existing dir/symlink decides, so the location never flips.
pg_resolve_root() {
  local local_root="$EVENTLY_DATA_DIR/postgres"
  if [[ -L $local_root ]]; then
    PG_ROOT=$(readlink -f "$local_root")
  elif [[ -d $local_root ]] || ! is_root || runuser -u postgres -- test -x "$EVENTLY_DATA_DIR" 2>/dev/null; then
    PG_ROOT=$local_root
  else
    PG_ROOT="/var/lib/evently-postgres/$(printf '%s' "$EVENTLY_DATA_DIR" | sha256sum | cut -c1-16)"
  fi
  PG_DATA="$PG_ROOT/data"
  PG_LOG="$PG_ROOT/postgres.log"
  PG_SOCK_DIR="$PG_ROOT/run"
  # Unix socket paths are limited to 107 bytes; a deep checkout would exceed it.
  if (( ${#PG_SOCK_DIR} + 16 > 107 )); then
    PG_SOCK_DIR="/tmp/evently-pg-$(printf '%s' "$PG_ROOT" | sha256sum | cut -c1-12)"
  fi
}

pg_prepare_root() {
  local local_root="$EVENTLY_DATA_DIR/postgres"
  if [[ $PG_ROOT != "$local_root" && ! -e $local_root ]]; then
    mkdir -p "$(dirname "$PG_ROOT")"
    chmod 755 "$(dirname "$PG_ROOT")"
    ln -s "$PG_ROOT" "$local_root"
    log "[postgres] $EVENTLY_DATA_DIR is not reachable by the postgres user; cluster placed in $PG_ROOT (symlinked from $local_root)"
  fi
  mkdir -p "$PG_ROOT" "$PG_SOCK_DIR"
  if is_root; then chown postgres:postgres "$PG_ROOT" "$PG_SOCK_DIR"; fi
  chmod 700 "$PG_ROOT"
  chmod 755 "$PG_SOCK_DIR"
}

pg_running_ours() {
  [[ -f $PG_DATA/PG_VERSION ]] && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}
pg_ready() { "$PG_BIN/pg_isready" -q -h "$PG_HOST" -p "$PG_PORT" -t 2; }

pg_initdb() {
  [[ -f $PG_DATA/PG_VERSION ]] && return 0
  local t0; t0=$(now_ms)
  # initdb into a temp dir and rename, so an interrupted first run cannot
  # leave a half-initialised cluster that later runs would try to start.
  as_pg rm -rf "$PG_ROOT/data.init"
  if ! as_pg "$PG_BIN/initdb" -D "$PG_ROOT/data.init" -U "$PG_OS_USER" -E UTF8 --locale=C.UTF-8 \
      --auth-local=peer --auth-host=scram-sha-256 >"$PG_ROOT/initdb.log" 2>&1; then
    tail_log "$PG_ROOT/initdb.log"
    die "[postgres] initdb failed"
  fi
  # Our settings live in one file that every `up` rewrites from the env vars.
  printf "\ninclude_if_exists = 'evently.conf'\n" | as_pg tee -a "$PG_ROOT/data.init/postgresql.conf" >/dev/null
  as_pg mv "$PG_ROOT/data.init" "$PG_DATA"
  log "[postgres] initdb done in $(elapsed "$t0") ($PG_DATA)"
}

pg_write_config() {
  [[ $(cat "$PG_DATA/PG_VERSION") == "$PG_MAJOR" ]] ||
    die "[postgres] $PG_DATA was made by PostgreSQL $(cat "$PG_DATA/PG_VERSION"), not $PG_MAJOR; remove it or use 'down --purge'"
  as_pg tee "$PG_DATA/evently.conf" >/dev/null <<EOF
# Written by scripts/infra.sh on every start; edit the script, not this file.
listen_addresses = '$PG_HOST'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK_DIR'
# Connection pools of several services plus parallel test packages.
max_connections = 300
shared_buffers = 256MB
# Durability stays as in production so tests see real commit latencies.
fsync = on
synchronous_commit = on
# Write-heavy on-sale rushes: WAL in memory until commit, fewer checkpoints during a rush,
# and no full-page-write storms right after one. Group commit lives in the services (one
# transaction for many buyers), so commit_delay stays at its default of 0.
wal_buffers = 16MB
max_wal_size = 2GB
checkpoint_timeout = 15min
checkpoint_completion_target = 0.9
# Small per-sale statements: planning cost matters more than memory per sort.
work_mem = 8MB
effective_cache_size = 1GB
password_encryption = 'scram-sha-256'
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  # Password auth over TCP for everyone; only the OS superuser via the socket.
  as_pg tee "$PG_DATA/pg_hba.conf" >/dev/null <<EOF
# Written by scripts/infra.sh on every start.
local all $PG_OS_USER                peer
host  all all         127.0.0.1/32   scram-sha-256
host  all all         ::1/128        scram-sha-256
EOF
}

# Tests create and drop their own databases, hence CREATEDB; the role owns the
# app database (and so its public schema in PG15) but is not a superuser. The
# password is re-applied every time so changing PG_PASSWORD just works.
pg_ensure_role_db() {
  as_pg "$PG_BIN/psql" -X -q -h "$PG_SOCK_DIR" -p "$PG_PORT" -U "$PG_OS_USER" -d postgres \
    -v ON_ERROR_STOP=1 -v u="$PG_USER" -v pw="$PG_PASSWORD" -v db="$PG_DATABASE" >/dev/null <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', :'u', :'pw')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'u')
\gexec
SELECT format('ALTER ROLE %I LOGIN CREATEDB PASSWORD %L', :'u', :'pw')
\gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'u')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')
\gexec
SQL
}

pg_login_ok() {
  PGPASSWORD=$PG_PASSWORD PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -q -At -h "$PG_HOST" -p "$PG_PORT" \
    -U "$PG_USER" -d "$PG_DATABASE" -c 'select 1' >/dev/null 2>&1
}

pg_up() {
  local t0; t0=$(now_ms)
  pg_find_bin
  pg_resolve_root
  local where="$PG_HOST:$PG_PORT db=$PG_DATABASE user=$PG_USER data=$PG_DATA log=$PG_LOG"
  if pg_ready; then
    if pg_running_ours; then
      pg_ensure_role_db
      log "[postgres] already up ($(elapsed "$t0")): $where"
    else
      pg_login_ok || warn "[postgres] something else answers on $PG_HOST:$PG_PORT and rejects $PG_USER/$PG_DATABASE"
      log "[postgres] already reachable at $PG_HOST:$PG_PORT (not started by infra.sh; left alone)"
    fi
    return 0
  fi
  pg_prepare_root
  pg_initdb
  pg_write_config
  if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 -s start 9>&-; then
    tail_log "$PG_LOG"
    die "[postgres] failed to start"
  fi
  if ! wait_until 30 pg_ready; then
    tail_log "$PG_LOG"
    die "[postgres] started but not answering pg_isready at $PG_HOST:$PG_PORT"
  fi
  pg_ensure_role_db
  pg_login_ok || { tail_log "$PG_LOG"; die "[postgres] $PG_USER cannot log in to $PG_DATABASE over TCP"; }
  log "[postgres] started in $(elapsed "$t0"): $where"
}

pg_down() {
  if ! (pg_find_bin) 2>/dev/null; then log "postgres: not installed, nothing to stop"; return 0; fi
  pg_find_bin
  pg_resolve_root
  if pg_running_ours; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 -s stop || die "[postgres] pg_ctl stop failed"
    log "postgres: stopped"
  else
    log "postgres: not running (nothing started by infra.sh)"
  fi
}

pg_status() {
  if ! (pg_find_bin) 2>/dev/null; then printf 'postgres  down  %-16s (server binaries not installed)\n' "$PG_HOST:$PG_PORT"; return 1; fi
  pg_find_bin
  pg_resolve_root
  if pg_ready; then
    if pg_running_ours; then printf 'postgres  up    %-16s managed  data=%s\n' "$PG_HOST:$PG_PORT" "$PG_DATA"
    else printf 'postgres  up    %-16s external\n' "$PG_HOST:$PG_PORT"; fi
  else
    printf 'postgres  down  %-16s\n' "$PG_HOST:$PG_PORT"; return 1
  fi
}

# ================================================================= Redis ====
REDIS_PID="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"
redis_ready() { [[ $(timeout 3 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }

redis_up() {
  local t0; t0=$(now_ms)
  local where="$REDIS_HOST:$REDIS_PORT data=$REDIS_DIR log=$REDIS_LOG"
  if redis_ready; then
    if live_pid "$REDIS_PID" redis-server >/dev/null; then
      log "[redis] already up ($(elapsed "$t0")): $where"
    else
      # Any Redis will do: the services need no server-side setting (lapsed holds are
      # found by inventory's sweep, not by key-expiry notifications).
      log "[redis] already reachable at $REDIS_HOST:$REDIS_PORT (not started by infra.sh; left alone)"
    fi
    return 0
  fi
  mkdir -p "$REDIS_DIR"
  cat >"$REDIS_DIR/redis.conf" <<EOF
# Written by scripts/infra.sh on every start.
bind $REDIS_HOST
port $REDIS_PORT
daemonize yes
pidfile "$REDIS_PID"
logfile "$REDIS_LOG"
dir "$REDIS_DIR"
# A cache/lock store for tests: no persistence, nothing to fsync.
save ""
appendonly no
EOF
  if ! redis-server "$REDIS_DIR/redis.conf" 9>&-; then
    tail_log "$REDIS_LOG"; die "[redis] failed to start"
  fi
  if ! wait_until 15 redis_ready; then
    tail_log "$REDIS_LOG"; die "[redis] not answering PING at $REDIS_HOST:$REDIS_PORT"
  fi
  log "[redis] started in $(elapsed "$t0"): $where"
}

redis_down() { stop_pidfile redis "$REDIS_PID" redis-server 15; }

redis_status() {
  if redis_ready; then
    if live_pid "$REDIS_PID" redis-server >/dev/null; then printf 'redis     up    %-16s managed  data=%s\n' "$REDIS_ADDR" "$REDIS_DIR"
    else printf 'redis     up    %-16s external\n' "$REDIS_ADDR"; fi
  else
    printf 'redis     down  %-16s\n' "$REDIS_ADDR"; return 1
  fi
}

# ================================================================= Kafka ====
KAFKA_PID="$KAFKA_HOME/kafka.pid"
KAFKA_LOG="$KAFKA_LOGS/server.log"
KAFKA_OUT="$KAFKA_LOGS/kafka.out"
KAFKA_POM="$SCRIPTS_DIR/kafka/pom.xml"

# The jar set is keyed by the pom's hash, so editing the pom re-fetches.
kafka_fetch() {
  local want; want=$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)
  if kafka_libs_ready && [[ $(cat "$KAFKA_LIBS/.complete") == "$want" ]]; then return 0; fi
  local t0; t0=$(now_ms)
  mkdir -p "$KAFKA_HOME"
  local tmp="$KAFKA_HOME/libs.tmp" flog="$KAFKA_HOME/fetch.log"
  rm -rf "$tmp"
  log "[kafka] fetching Kafka $KAFKA_VERSION jars with mvn (log: $flog) ..."
  # Own local repo under the data dir: no dependence on ~/.m2 state, and a
  # second fetch (after a pom change) reuses what the first downloaded.
  if ! mvn -B -f "$KAFKA_POM" -Dmaven.repo.local="$EVENTLY_DATA_DIR/m2" \
      dependency:copy-dependencies -DoutputDirectory="$tmp" >"$flog" 2>&1; then
    tail_log "$flog" 30
    die "[kafka] mvn fetch failed"
  fi
  printf '%s\n' "$want" >"$tmp/.complete"
  rm -rf "$KAFKA_LIBS"
  mv "$tmp" "$KAFKA_LIBS"
  log "[kafka] fetched $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars in $(elapsed "$t0")"
}

# Same GC settings as Kafka's own start scripts; the heap is kept small
# because this box has 2 cores and runs everything else too.
read -r -a _kafka_heap <<<"$KAFKA_HEAP_OPTS"
KAFKA_JAVA=(java "${_kafka_heap[@]}" -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20
  -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent
  -Djava.awt.headless=true -Dkafka.logs.dir="$KAFKA_LOGS"
  -Dlog4j2.configurationFile="$SCRIPTS_DIR/kafka/log4j2.properties"
  -cp "$KAFKA_LIBS/*")
# One-shot CLI tools (storage format, uuid) need neither the broker heap nor
# the optimising JIT; C1-only roughly halves their start-up time.
kafka_tool() {
  java -Xmx256m -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$SCRIPTS_DIR/kafka/tools-log4j2.properties" \
    -cp "$KAFKA_LIBS/*" "$@"
}

kafka_write_config() {
  mkdir -p "$KAFKA_DATA" "$KAFKA_LOGS"
  cat >"$KAFKA_HOME/server.properties" <<EOF
# Written by scripts/infra.sh on every start.
process.roles=broker,controller
node.id=1
# Static single-voter quorum: no dynamic-quorum bootstrap to get wrong.
controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA
# Topics are created explicitly (scripts/kafka-topics.sh or the services), so
# a typo in a topic name fails loudly instead of creating a new topic.
auto.create.topics.enable=false
num.partitions=3
# A single node cannot meet the default replication factor of 3.
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests start consumers constantly; do not wait 3 s for more group members.
group.initial.rebalance.delay.ms=0
log.retention.hours=168
EOF
}

kafka_format() {
  [[ -f $KAFKA_DATA/meta.properties ]] && return 0
  local cid t0; t0=$(now_ms)
  if ! cid=$(kafka_tool kafka.tools.StorageTool random-uuid 2>>"$KAFKA_OUT"); then
    tail_log "$KAFKA_OUT" 20; die "[kafka] StorageTool random-uuid failed"
  fi
  if ! kafka_tool kafka.tools.StorageTool format -t "$cid" -c "$KAFKA_HOME/server.properties" \
      >>"$KAFKA_OUT" 2>&1; then
    tail_log "$KAFKA_OUT"; die "[kafka] storage format failed"
  fi
  log "[kafka] formatted storage (cluster id $cid) in $(elapsed "$t0")"
}

kafka_port_open() { port_open "$KAFKA_HOST" "$KAFKA_PORT"; }

# Launch only; kafka_wait checks readiness, so the other servers can start
# while the JVM boots.
KAFKA_LAUNCHED=0
kafka_start() {
  KAFKA_T0=$(now_ms)
  local where="$KAFKA_HOST:$KAFKA_PORT (controller :$KAFKA_CONTROLLER_PORT) data=$KAFKA_DATA log=$KAFKA_LOG"
  if kafka_port_open; then
    if live_pid "$KAFKA_PID" kafka.Kafka >/dev/null; then
      log "[kafka] already up ($(elapsed "$KAFKA_T0")): $where"
    else
      log "[kafka] already reachable at $KAFKA_BOOTSTRAP (not started by infra.sh; left alone)"
    fi
    return 0
  fi
  local pid
  if pid=$(live_pid "$KAFKA_PID" kafka.Kafka); then
    # Ours and alive but port closed: still booting from an earlier `up`.
    KAFKA_LAUNCHED=1; KAFKA_LOG_OFFSET=0
    log "[kafka] pid $pid is still starting; waiting for it"
    return 0
  fi
  kafka_write_config
  kafka_format
  # Readiness is judged from log lines written after this offset, so an old
  # "Kafka Server started" from a previous run cannot fool it.
  KAFKA_LOG_OFFSET=$(stat -c %s "$KAFKA_LOG" 2>/dev/null || echo 0)
  spawn "$KAFKA_PID" "$KAFKA_OUT" "${KAFKA_JAVA[@]}" kafka.Kafka "$KAFKA_HOME/server.properties"
  KAFKA_LAUNCHED=1
}

kafka_started_in_log() {
  # Not `tail | grep -q`: under pipefail, grep quitting early makes tail die
  # of SIGPIPE and the whole check would report failure after a match.
  [[ -f $KAFKA_LOG ]] && grep -qF 'Kafka Server started' < <(tail -c "+$((KAFKA_LOG_OFFSET + 1))" "$KAFKA_LOG")
}
kafka_ready_or_dead() {
  ! live_pid "$KAFKA_PID" kafka.Kafka >/dev/null && return 0
  kafka_port_open && kafka_started_in_log
}

kafka_wait() {
  (( KAFKA_LAUNCHED )) || return 0
  local where="$KAFKA_HOST:$KAFKA_PORT (controller :$KAFKA_CONTROLLER_PORT) data=$KAFKA_DATA log=$KAFKA_LOG"
  if ! wait_until "$KAFKA_START_TIMEOUT" kafka_ready_or_dead; then
    tail_log "$KAFKA_LOG"; tail_log "$KAFKA_OUT" 20
    die "[kafka] not ready within ${KAFKA_START_TIMEOUT}s (still running; see logs above)"
  fi
  if ! live_pid "$KAFKA_PID" kafka.Kafka >/dev/null; then
    tail_log "$KAFKA_LOG"; tail_log "$KAFKA_OUT" 20
    die "[kafka] process exited during startup"
  fi
  log "[kafka] started in $(elapsed "$KAFKA_T0"): $where"
}

kafka_down() { stop_pidfile kafka "$KAFKA_PID" kafka.Kafka 60; }

kafka_status() {
  if kafka_port_open; then
    if live_pid "$KAFKA_PID" kafka.Kafka >/dev/null; then printf 'kafka     up    %-16s managed  data=%s\n' "$KAFKA_BOOTSTRAP" "$KAFKA_DATA"
    else printf 'kafka     up    %-16s external\n' "$KAFKA_BOOTSTRAP"; fi
  else
    printf 'kafka     down  %-16s\n' "$KAFKA_BOOTSTRAP"; return 1
  fi
}

# =============================================================== Mailpit ====
MAILPIT_BIN="$BIN_DIR/mailpit"
MAILPIT_PID="$MAILPIT_DIR/mailpit.pid"
MAILPIT_LOG="$MAILPIT_DIR/mailpit.log"

# Built from source with the Go toolchain because only the module proxy is
# reachable (no release binaries). The stamp records which version was asked
# for, so changing MAILPIT_VERSION rebuilds and an unchanged one is reused.
mailpit_build() {
  local stamp="$BIN_DIR/mailpit.stamp"
  if [[ -x $MAILPIT_BIN && -f $stamp ]] && [[ $(head -n1 "$stamp") == "requested=$MAILPIT_VERSION" ]]; then
    return 0
  fi
  command -v go >/dev/null || die "[mailpit] Go toolchain not found; it is needed to build Mailpit"
  local t0 v blog="$MAILPIT_DIR/build.log"; t0=$(now_ms)
  mkdir -p "$BIN_DIR" "$MAILPIT_DIR"
  : >"$blog"
  for v in "$MAILPIT_VERSION" "$MAILPIT_FALLBACK_VERSION"; do
    log "[mailpit] building github.com/axllent/mailpit@$v with $(go env GOVERSION) (log: $blog) ..."
    # Outside the repo and with GOWORK=off so the monorepo's go.work and any
    # GOFLAGS like -mod=vendor cannot interfere; GOTOOLCHAIN=local so a newer
    # `go` line in mailpit's go.mod fails fast instead of fetching a toolchain.
    if (cd "$EVENTLY_DATA_DIR" && GOWORK=off GOFLAGS=-buildvcs=false GOTOOLCHAIN=local GOBIN="$BIN_DIR" \
        go install "github.com/axllent/mailpit@$v") >>"$blog" 2>&1; then
      printf 'requested=%s\nbuilt=%s\n' "$MAILPIT_VERSION" "$v" >"$stamp"
      log "[mailpit] built $v in $(elapsed "$t0")"
      return 0
    fi
    warn "[mailpit] building $v failed"
  done
  tail_log "$blog" 30
  die "[mailpit] could not build Mailpit"
}

mailpit_ready() {
  curl -fsS -m 3 "http://$UI_HOST:$UI_PORT/api/v1/info" >/dev/null 2>&1 && port_open "$SMTP_HOST" "$SMTP_PORT"
}

mailpit_up() {
  local t0; t0=$(now_ms)
  local where="smtp=$SMTP_ADDR ui/api=http://$MAILPIT_UI data=$MAILPIT_DIR log=$MAILPIT_LOG"
  if port_open "$SMTP_HOST" "$SMTP_PORT" || port_open "$UI_HOST" "$UI_PORT"; then
    if live_pid "$MAILPIT_PID" mailpit >/dev/null; then
      log "[mailpit] already up ($(elapsed "$t0")): $where"
      return 0
    fi
    mailpit_ready || die "[mailpit] $SMTP_ADDR or $MAILPIT_UI is taken by something that is not Mailpit"
    log "[mailpit] already reachable at $SMTP_ADDR / $MAILPIT_UI (not started by infra.sh; left alone)"
    return 0
  fi
  mkdir -p "$MAILPIT_DIR"
  # Accept any SMTP AUTH without TLS so services configured with credentials
  # work against it exactly as they would against a real relay.
  # One scheduler thread: Mailpit stores one message at a time, and on a small machine its
  # idle threads waking each other cost more CPU than the storing (about 15 % per e-mail).
  spawn "$MAILPIT_PID" "$MAILPIT_LOG" env GOMAXPROCS=1 "$MAILPIT_BIN" \
    --smtp "$SMTP_ADDR" --listen "$MAILPIT_UI" --database "$MAILPIT_DIR/mailpit.db" \
    --smtp-auth-accept-any --smtp-auth-allow-insecure
  if ! wait_until 20 mailpit_ready; then
    tail_log "$MAILPIT_LOG"; die "[mailpit] not answering at $SMTP_ADDR / http://$MAILPIT_UI/api/v1/info"
  fi
  log "[mailpit] started in $(elapsed "$t0"): $where"
}

mailpit_down() { stop_pidfile mailpit "$MAILPIT_PID" mailpit 15; }

mailpit_status() {
  if mailpit_ready; then
    if live_pid "$MAILPIT_PID" mailpit >/dev/null; then printf 'mailpit   up    %-16s managed  ui=http://%s\n' "$SMTP_ADDR" "$MAILPIT_UI"
    else printf 'mailpit   up    %-16s external ui=http://%s\n' "$SMTP_ADDR" "$MAILPIT_UI"; fi
  else
    printf 'mailpit   down  %-16s\n' "$SMTP_ADDR"; return 1
  fi
}

# ============================================================= commands ====
lock() {
  # Two concurrent `up`s (e.g. parallel make targets) would race on initdb,
  # formatting and pid files. Every server launch closes fd 9 (`9>&-`):
  # a daemon inheriting it would hold the lock for its whole life.
  exec 9>"$EVENTLY_DATA_DIR/.infra.lock"
  flock -w 600 9 || die "another infra.sh is still running"
}

cmd_up() {
  lock
  local t0; t0=$(now_ms)
  log "infra up: data dir $EVENTLY_DATA_DIR"
  # All apt work first and in sequence: apt holds a global lock.
  need_cmd redis-server redis-server
  need_cmd redis-cli redis-tools
  need_cmd curl curl
  need_cmd java openjdk-17-jre-headless
  need_cmd mvn maven
  pg_find_bin install
  # The two slow one-time steps use different resources (network vs CPU),
  # so run them side by side.
  local fetch_pid rc=0
  kafka_fetch & fetch_pid=$!
  mailpit_build || rc=$?
  wait "$fetch_pid" || rc=$?
  (( rc == 0 )) || die "provisioning failed"
  log "provisioning checked in $(elapsed "$t0")"

  kafka_start
  pg_up
  redis_up
  mailpit_up
  kafka_wait
  log "infra up: all ready in $(elapsed "$t0")"
  log "  DATABASE_URL=postgres://$PG_USER:$PG_PASSWORD@$PG_HOST:$PG_PORT/$PG_DATABASE?sslmode=disable"
  log "  REDIS_ADDR=$REDIS_ADDR KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP SMTP_ADDR=$SMTP_ADDR MAILPIT_UI=http://$MAILPIT_UI"
}

cmd_down() {
  local purge=0
  case "${1:-}" in
    --purge) purge=1 ;;
    "") ;;
    *) die "usage: $0 down [--purge]" ;;
  esac
  lock
  # Reverse dependency order is irrelevant here, but stop the slowest first.
  kafka_down
  mailpit_down
  redis_down
  pg_down
  if (( purge )); then
    pg_resolve_root
    rm -rf "$PG_ROOT" "$EVENTLY_DATA_DIR/postgres" "$REDIS_DIR" "$KAFKA_DATA" "$KAFKA_LOGS" \
      "$KAFKA_HOME/server.properties" "$MAILPIT_DIR"
    [[ $PG_SOCK_DIR == /tmp/evently-pg-* ]] && rm -rf "$PG_SOCK_DIR"
    log "purged server data (kept fetched jars in $KAFKA_LIBS, $EVENTLY_DATA_DIR/m2 and binaries in $BIN_DIR)"
  fi
}

cmd_status() {
  local rc=0
  pg_status || rc=1
  redis_status || rc=1
  kafka_status || rc=1
  mailpit_status || rc=1
  return "$rc"
}

case "${1:-}" in
  up) cmd_up ;;
  down) shift; cmd_down "$@" ;;
  status) cmd_status ;;
  *) printf 'usage: %s up | down [--purge] | status\n' "$0" >&2; exit 2 ;;
esac
