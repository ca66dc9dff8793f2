#!/usr/bin/env bash
# Runs every module's tests (unit, integration and end-to-end) against the real servers
# that infra.sh started. Integration tests isolate themselves (own database, topic names,
# key prefixes), so packages and tests run in parallel and the suite can run repeatedly.
#   test.sh        everything, then the container checks and Schemathesis
#   test.sh unit   every module with -short: no servers needed (testkit skips the tests
#                  that need one), nothing else
# GO_TEST_FLAGS overrides the go test flags; this is their only default.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"
: "${GO_TEST_FLAGS:=-race -count=1 -timeout 15m}"
mode=${1:-all}
case $mode in
  all) ;;
  unit) GO_TEST_FLAGS="$GO_TEST_FLAGS -short" ;;
  *) die "usage: test.sh [unit]" ;;
esac
export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:9092}" REDIS_ADDR="${REDIS_ADDR:-127.0.0.1:6379}"
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://evently:evently@127.0.0.1:5432/evently?sslmode=disable}"

t=$(now_ms)
failed=()
for m in $(go list -m -f '{{.Dir}}'); do
  rel=${m#"$REPO_ROOT"/}
  log "=== go test $rel"
  # shellcheck disable=SC2086
  if ! (cd "$m" && go test $GO_TEST_FLAGS ./...); then failed+=("$rel"); fi
done
if [[ $mode == unit ]]; then
  log "[test] unit run finished in $(elapsed "$t")"
  if ((${#failed[@]})); then log "[test] FAILED modules: ${failed[*]}"; exit 1; fi
  log "[test] all modules passed"
  exit 0
fi
# The deployment files: images built and run under podman, a Compose file run for real.
# tests/deploy's Go checks already ran in the loop above.
log "=== deploy-check (containers)"
if ! bash "$REPO_ROOT/scripts/deploy-check.sh" containers; then failed+=("deploy-check"); fi
# The short fault drills: a private copy on private servers, broker stop, Redis loss and a
# SIGKILL mid-sale, each checked against the stores. Its report goes to a temporary folder.
log "=== fault drills, short (bench/cmd/chaos -short)"
chaos_out=$(mktemp -d)
if ! go run ./bench/cmd/chaos -short -out "$chaos_out"; then failed+=("chaos"); fi
rm -rf "$chaos_out"
log "=== schemathesis over the public API (scripts/fuzz-api.sh)"
if ! bash "$SCRIPTS_DIR/fuzz-api.sh"; then failed+=("schemathesis"); fi
log "[test] finished in $(elapsed "$t")"
if ((${#failed[@]})); then
  log "[test] FAILED modules: ${failed[*]}"
  exit 1
fi
log "[test] all modules passed"
