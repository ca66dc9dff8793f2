#!/usr/bin/env bash
# Builds and runs every Evently service and the gateway on this machine against the local
# servers of infra.sh. `run.sh` seeds the demo data (seed.sh), stays in the foreground until
# Ctrl-C and then stops what it started; `run.sh start` detaches (pids in EVENTLY_RUN_DIR)
# without seeding and `run.sh stop` ends them, which is how the end-to-end tests and the
# bench bring up a private copy of the whole system.
#
# Isolation knobs (the e2e tests set all of them so a `make run` copy keeps running):
#   EVENTLY_PORT_BASE   gateway port; services take the next six ports   (8080)
#                       admin listeners (metrics, detailed readiness) use the same ports + 1000
#   EVENTLY_DB_NAME     PostgreSQL database, created if missing           (evently)
#   KAFKA_TOPIC_PREFIX  prefix on every topic name                        ("")
#   REDIS_KEY_PREFIX    prefix on every Redis key                         ("")
#   EVENTLY_RUN_DIR     where pids and service logs go                    ($EVENTLY_DATA_DIR/run)
#   EVENTLY_BIN_DIR     where the binaries are built                      ($EVENTLY_DATA_DIR/bin)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SERVICES=(identity catalog inventory booking waitlist analytics)
: "${EVENTLY_PORT_BASE:=8080}"
: "${EVENTLY_DB_NAME:=evently}"
: "${EVENTLY_RUN_DIR:=$EVENTLY_DATA_DIR/run}"
: "${PG_HOST:=127.0.0.1}" "${PG_PORT:=5432}" "${PG_USER:=evently}" "${PG_PASSWORD:=evently}"
BIN="${EVENTLY_BIN_DIR:-$EVENTLY_DATA_DIR/bin}"
mkdir -p "$EVENTLY_RUN_DIR" "$BIN"

# Local-only defaults. Every one can be overridden from the environment; production sets
# real secrets through Kubernetes Secrets (see helm/).
export IDENTITY_ASSERTION_SECRET="${IDENTITY_ASSERTION_SECRET:-local-dev-assertion-secret-not-for-production}"
# Seals identity's generated JWT signing key in the database (32 bytes, base64; this one
# spells "local-dev-kek-not-for-production").
export JWT_KEY_ENCRYPTION_KEY="${JWT_KEY_ENCRYPTION_KEY:-bG9jYWwtZGV2LWtlay1ub3QtZm9yLXByb2R1Y3Rpb24=}"
export DATABASE_URL="${DATABASE_URL:-postgres://$PG_USER:$PG_PASSWORD@$PG_HOST:$PG_PORT/$EVENTLY_DB_NAME?sslmode=disable}"
export KAFKA_TOPIC_PREFIX="${KAFKA_TOPIC_PREFIX:-}"
export REDIS_KEY_PREFIX="${REDIS_KEY_PREFIX:-}"
export MIGRATE_ON_START="${MIGRATE_ON_START:-true}"
export LOG_LEVEL="${LOG_LEVEL:-info}"
# Go's collector: a heap three times the live data between collections (about 10 % less
# CPU per booking in a rush) under a soft ceiling well inside the 256 MiB budget.
export GOGC="${GOGC:-200}" GOMEMLIMIT="${GOMEMLIMIT:-200MiB}"

port_of() { # service -> port
  local i=1 s
  for s in "${SERVICES[@]}"; do
    [[ $s == "$1" ]] && { echo $((EVENTLY_PORT_BASE + i)); return; }
    i=$((i + 1))
  done
}

build() {
  local t; t=$(now_ms)
  (cd "$REPO_ROOT" && for s in "${SERVICES[@]}"; do go build -o "$BIN/$s" "./services/$s/cmd/$s"; done \
    && go build -o "$BIN/gateway" ./gateway/cmd/gateway)
  log "[build] all binaries in $BIN ($(elapsed "$t"))"
}

ensure_db() {
  if [[ $EVENTLY_DB_NAME != evently ]]; then
    PGPASSWORD=$PG_PASSWORD psql -qAt -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d evently \
      -c "SELECT 1 FROM pg_database WHERE datname = '$EVENTLY_DB_NAME'" | grep -q 1 \
      || PGPASSWORD=$PG_PASSWORD psql -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d evently \
        -c "CREATE DATABASE \"$EVENTLY_DB_NAME\""
  fi
}

start_one() { # name binary port env...
  local name=$1 bin=$2 port=$3; shift 3
  env HTTP_ADDR="127.0.0.1:$port" ADMIN_ADDR="127.0.0.1:$((port + 1000))" "$@" "$bin" serve >>"$EVENTLY_RUN_DIR/$name.log" 2>&1 &
  echo $! >"$EVENTLY_RUN_DIR/$name.pid"
}

start_all() {
  ensure_db
  # Every process learns every service's URL (IDENTITY_URL, INVENTORY_URL, ...): services
  # that call another one synchronously (booking and waitlist → inventory) and the gateway.
  local ups=() s
  for s in "${SERVICES[@]}"; do ups+=("$(echo "$s" | tr a-z A-Z)_URL=http://127.0.0.1:$(port_of "$s")"); done
  for s in "${SERVICES[@]}"; do
    start_one "$s" "$BIN/$s" "$(port_of "$s")" DB_SCHEMA="$s" "${ups[@]}"
  done
  start_one gateway "$BIN/gateway" "$EVENTLY_PORT_BASE" "${ups[@]}"
}

healthy() { curl -fsS -o /dev/null "http://127.0.0.1:$EVENTLY_PORT_BASE/health"; }

wait_ready() {
  local t; t=$(now_ms)
  if ! wait_until 120 healthy; then
    curl -sS "http://127.0.0.1:$EVENTLY_PORT_BASE/health" >&2 || true
    for s in gateway "${SERVICES[@]}"; do tail_log "$EVENTLY_RUN_DIR/$s.log" 15; done
    stop_all
    die "the system did not become ready within 120 s"
  fi
  log "[run] all services ready ($(elapsed "$t"))"
}

stop_all() {
  local f pid
  for f in "$EVENTLY_RUN_DIR"/*.pid; do
    [[ -e $f ]] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
  done
  for f in "$EVENTLY_RUN_DIR"/*.pid; do
    [[ -e $f ]] || continue
    pid=$(cat "$f")
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
  done
}

print_urls() {
  cat <<MSG

Evently is running.
  API (gateway)     http://127.0.0.1:$EVENTLY_PORT_BASE/api/v1
  API docs          http://127.0.0.1:$EVENTLY_PORT_BASE/docs
  Health            http://127.0.0.1:$EVENTLY_PORT_BASE/health
  Mail inbox        http://${MAILPIT_UI:-127.0.0.1:8025}
  Service logs      $EVENTLY_RUN_DIR/<service>.log
MSG
  local s
  for s in "${SERVICES[@]}"; do printf '  %-17s http://127.0.0.1:%s  (metrics: :%s/metrics)\n' "$s" "$(port_of "$s")" "$(($(port_of "$s") + 1000))"; done
}

case "${1:-foreground}" in
  foreground)
    build
    stop_all
    trap 'log ""; log "[run] stopping"; stop_all; exit 0' INT TERM
    start_all
    wait_ready
    if [[ -x $REPO_ROOT/scripts/seed.sh ]]; then "$REPO_ROOT/scripts/seed.sh" || warn "seeding failed; see above"; fi
    print_urls
    log "Press Ctrl-C to stop the services (the servers of infra.sh keep running: make infra-down)."
    while true; do sleep 3600 & wait $!; done
    ;;
  start) build; stop_all; start_all; wait_ready ;;
  stop) stop_all ;;
  *) die "usage: run.sh [foreground|start|stop]" ;;
esac
