#!/usr/bin/env bash
# Runs Schemathesis over the gateway's public OpenAPI document against a private copy of
# the whole system (the end-to-end suite's: own ports, database, topics and Redis keys,
# removed afterwards), as a USER and as the ADMIN, every phase including the stateful one;
# any failure fails. The fuzzer is installed once, pinned, in a virtualenv under
# $EVENTLY_DATA_DIR (python3 and its venv module come from apt-get when missing).
#
#   EVENTLY_FUZZ_EXAMPLES  examples per operation and phase   (30)
#   EVENTLY_FUZZ_SEED      generation seed, for replays         (fixed)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCHEMATHESIS_VERSION=4.32.5
VENV="$EVENTLY_DATA_DIR/schemathesis-venv-$SCHEMATHESIS_VERSION"

install_schemathesis() {
  [[ -x $VENV/bin/schemathesis ]] && return 0
  if ! command -v python3 >/dev/null || ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    log "[fuzz] installing python3 and python3-venv"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
  fi
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
}

t=$(now_ms)
install_schemathesis
log "[fuzz] schemathesis $("$VENV/bin/schemathesis" --version | awk '{print $NF}') ready ($(elapsed "$t"))"
export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:9092}" REDIS_ADDR="${REDIS_ADDR:-127.0.0.1:6379}"
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://evently:evently@127.0.0.1:5432/evently?sslmode=disable}"
cd "$REPO_ROOT/tests/e2e"
EVENTLY_E2E_FUZZ=1 SCHEMATHESIS="$VENV/bin/schemathesis" \
  go test -count=1 -timeout 20m -run '^TestSchemathesis$' -v .
log "[fuzz] finished in $(elapsed "$t")"
