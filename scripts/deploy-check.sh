#!/usr/bin/env bash
# Proves the deployment files on this machine (make deploy-check; make test runs it):
#   1. installs podman + runc when missing and configures them for a root, cgroupfs host;
#   2. makes the base images locally (public registries are out of reach here): a build
#      stage holding this machine's Go toolchain, and `scratch` (the default) at run time;
#   3. builds every component's image with deploy/docker/Dockerfile;
#   4. runs all seven images with host networking against the local servers (own database,
#      topic and key prefixes, ports) until each admin /readyz is green, checks the ports'
#      split and books a seat through the gateway;
#   5. runs one per-service Compose file for real (podman-compose) with the override that
#      points it at the local servers, and books a seat through the composed service; then
#      the same for compose.yaml, all seven components;
#   6. runs the Go checks in tests/deploy (Helm chart, kustomize overlays, Compose files),
#      unless called as `deploy-check.sh containers` (make test runs those in its loop).
# Outside CI a machine that cannot get podman skips steps 1-5 with a message; in CI
# (CI set) that is a failure.
set -euo pipefail
# A failing command under set -e would otherwise end the check without a word.
trap 'printf "ERROR: deploy-check failed at line %s: %s\n" "$LINENO" "$BASH_COMMAND" >&2' ERR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

T0=$(now_ms)
STATE="$EVENTLY_DATA_DIR/deploy-check"
mkdir -p "$STATE"
: "${PG_HOST:=127.0.0.1}" "${PG_PORT:=5432}" "${PG_USER:=evently}" "${PG_PASSWORD:=evently}"

# --- 1. engine ---------------------------------------------------------------------------
ensure_podman() {
  local need=()
  command -v podman >/dev/null || need+=(podman)
  command -v runc >/dev/null || need+=(runc)
  command -v jq >/dev/null || need+=(jq)           # seed.sh and the booking check
  [[ -x /bin/busybox ]] || need+=(busybox-static)  # the shell of the local Go base image
  ((${#need[@]})) || return 0
  log "[deploy-check] installing ${need[*]} with apt-get"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; } 2>&1 || return 1
  command -v podman >/dev/null && command -v runc >/dev/null
}

# --- 2. base images ----------------------------------------------------------------------
GO_VERSION=$(go env GOVERSION)
GO_BASE="localhost/evently-local/go:${GO_VERSION#go}"

# A build stage made of this machine's Go toolchain, a static busybox for RUN's shell and
# the CA bundle (the module proxy is reached over HTTPS); stands in for golang:1.26.
make_go_base() {
  if podman image exists "$GO_BASE"; then
    podman run --rm --network host "$GO_BASE" go version >/dev/null 2>&1 && return 0
    podman rmi -f "$GO_BASE" >/dev/null # a broken leftover
  fi
  local root goroot; root=$(mktemp -d); goroot=$(go env GOROOT)
  mkdir -p "$root"/{bin,etc/ssl/certs,tmp,root,go,usr/local}
  cp /bin/busybox "$root/bin/busybox"
  local a; for a in sh mkdir chmod cat echo ls rm cp mv env; do ln -s busybox "$root/bin/$a"; done
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
  echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
  chmod 1777 "$root/tmp"
  tar -C "$root" -cf - . \
      -C "$(dirname "$goroot")" --exclude="$(basename "$goroot")/test" \
      --transform "s,^$(basename "$goroot"),usr/local/go," "$(basename "$goroot")" |
    podman import -q --change 'ENV PATH=/usr/local/go/bin:/go/bin:/bin' --change 'ENV GOPATH=/go' \
      --change 'WORKDIR /' - "$GO_BASE" >/dev/null
  rm -rf "$root"
  podman run --rm --network host "$GO_BASE" go version >/dev/null || die "the local Go base image does not work"
  log "[deploy-check] base image $GO_BASE made from the local Go toolchain"
}

# --- 3b. what the images are ------------------------------------------------------------
# Non-root user, OCI labels, and nothing but the binary: no shell to run.
check_images() {
  local c img user title rev
  for c in "${COMPONENTS[@]}"; do
    img="$IMG_REPO/$c:$IMG_TAG"
    user=$(podman image inspect -f '{{.Config.User}}' "$img")
    title=$(podman image inspect -f '{{index .Labels "org.opencontainers.image.title"}}' "$img")
    rev=$(podman image inspect -f '{{index .Labels "org.opencontainers.image.revision"}}' "$img")
    [[ $user == 65532:65532 ]] || die "$img runs as '$user'"
    [[ $title == "evently-$c" && -n $rev ]] || die "$img lacks OCI labels (title '$title', revision '$rev')"
    if podman run --rm --network none --entrypoint /bin/sh "$img" -c true >/dev/null 2>&1; then
      die "$img has a shell"
    fi
  done
  log "[deploy-check] images: user 65532, OCI labels, no shell"
}

# --- 4. run the images -------------------------------------------------------------------
COMPONENTS=(gateway identity catalog inventory booking waitlist analytics)
SUFFIX=$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')
DB="deploycheck_$SUFFIX"
PREFIX="dc-$SUFFIX-"
CTR="evently-dc-$SUFFIX"
IMG_REPO=localhost/evently
IMG_TAG=check

# A base port whose public (base..base+6) and admin (+1000) ranges are all free.
pick_base() {
  local base p free
  for _ in $(seq 1 50); do
    base=$((23000 + (RANDOM % 400) * 10)); free=1
    for p in $(seq "$base" $((base + 6))) $(seq $((base + 1000)) $((base + 1006))); do
      if port_open 127.0.0.1 "$p"; then free=0; break; fi
    done
    ((free)) && { echo "$base"; return; }
  done
  die "no free port range found"
}

port_of() {
  local i
  for i in "${!COMPONENTS[@]}"; do
    if [[ ${COMPONENTS[$i]} == "$1" ]]; then echo $((BASE + i)); return 0; fi
  done
  die "unknown component $1"
}

# Environment shared by every container: this run's own database, prefixes and ports.
common_env() {
  local c
  ENVS=(-e "DATABASE_URL=postgres://$PG_USER:$PG_PASSWORD@$PG_HOST:$PG_PORT/$DB?sslmode=disable"
    -e "IDENTITY_ASSERTION_SECRET=$SECRET" -e "KAFKA_BROKERS=${KAFKA_BROKERS:-127.0.0.1:9092}"
    -e "KAFKA_TOPIC_PREFIX=$PREFIX" -e "KAFKA_PARTITIONS=2" -e "REDIS_ADDR=${REDIS_ADDR:-127.0.0.1:6379}"
    -e "REDIS_KEY_PREFIX=$PREFIX" -e "RATE_LIMIT_ENABLED=false" -e "MIGRATE_ON_START=false")
  for c in "${COMPONENTS[@]:1}"; do ENVS+=(-e "$(echo "$c" | tr a-z A-Z)_URL=http://127.0.0.1:$(port_of "$c")"); done
}

# The flags a production runtime would use: read-only root, no capabilities, no privilege
# escalation, the image's non-root user.
run_one() { # component [podman run args...] -- uses ENVS
  local c=$1 p; shift; p=$(port_of "$c")
  podman run -d --name "$CTR-$c" --network host --read-only --cap-drop ALL \
    --security-opt no-new-privileges "${ENVS[@]}" -e "HTTP_ADDR=127.0.0.1:$p" \
    -e "ADMIN_ADDR=127.0.0.1:$((p + 1000))" "$@" "$IMG_REPO/$c:$IMG_TAG" >/dev/null
}

admin_ready() { curl -fs -o /dev/null "http://127.0.0.1:$(($(port_of "$1") + 1000))/readyz"; }

# book_seat GATEWAY_URL: a user signs in, holds one seat of a published event and confirms.
book_seat() {
  local api=$1/api/v1 tok ev sec hold ref
  tok=$(curl -fsS "$api/auth/login" -H 'content-type: application/json' \
    -d '{"email":"user1@example.com","password":"evently-demo-user"}' | jq -r .access_token)
  ev=$(curl -fsS "$api/events?q=classical" | jq -r '.items[0].id')
  sec=$(curl -fsS "$api/events/$ev" | jq -r '.sections[0].section_id')
  hold=$(curl -fsS "$api/seats/hold" -H "authorization: Bearer $tok" -H 'content-type: application/json' \
    -d "{\"event_id\":\"$ev\",\"section_id\":\"$sec\",\"quantity\":1}" | jq -r .hold_id)
  ref=$(curl -fsS "$api/bookings/confirm" -H "authorization: Bearer $tok" -H 'content-type: application/json' \
    -H "Idempotency-Key: dc-$SUFFIX-$RANDOM" -d "{\"hold_id\":\"$hold\"}" | jq -r 'select(.status=="CONFIRMED") | .booking_ref')
  [[ -n $ref && $ref != null ]] || return 1
  echo "$ref"
}

dump_logs() {
  local c
  for c in "$@"; do
    printf -- '----- %s -----\n' "$c" >&2
    podman logs --tail 30 "$CTR-$c" >&2 2>&1 || true
  done
}

cleanup() {
  local c
  set +e
  if [[ -n ${COMPOSE_UP:-} ]]; then
    # What `podman-compose down` would remove, without re-reading the files (they need the
    # secrets in the environment): the project's containers, then its pod and network.
    podman ps -aq --filter "label=io.podman.compose.project=$CTR" | xargs -r podman rm -f -t 5 >/dev/null 2>&1
    podman pod rm -f "pod_$CTR" >/dev/null 2>&1
    podman network rm -f "${CTR}_default" >/dev/null 2>&1
  fi
  if [[ -n ${COMPOSE_ALL:-} ]]; then
    podman ps -aq --filter "label=io.podman.compose.project=$CTR-all" | xargs -r podman rm -f -t 5 >/dev/null 2>&1
    podman pod rm -f "pod_$CTR-all" >/dev/null 2>&1
    podman network rm -f "${CTR}-all_default" >/dev/null 2>&1
  fi
  for c in "${COMPONENTS[@]}"; do podman rm -f -t 5 "$CTR-$c" >/dev/null 2>&1; done
  PGPASSWORD=$PG_PASSWORD psql -qAt -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d evently \
    -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1
  bash "$REPO_ROOT/scripts/kafka-topics.sh" --delete --topic "${PREFIX}.*" >/dev/null 2>&1
  # Build stages left untagged by rebuilds (the Go caches live in cache mounts instead).
  podman image prune -f >/dev/null 2>&1
}

run_images() {
  local t c p body; t=$(now_ms)
  BASE=$(pick_base)
  SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  PGPASSWORD=$PG_PASSWORD psql -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d evently -c "CREATE DATABASE \"$DB\""
  common_env
  # Migrations as the Helm hook Jobs run them: `<service> migrate`, before any server.
  for c in "${COMPONENTS[@]:1}"; do
    podman run --rm --network host --read-only --cap-drop ALL "${ENVS[@]}" "$IMG_REPO/$c:$IMG_TAG" migrate \
      >"$STATE/migrate-$c.log" 2>&1 || { cat "$STATE/migrate-$c.log" >&2; die "$c migrate failed"; }
  done
  # Topics as the Helm topic hook creates them: `<service> topics`, before any server.
  for c in "${COMPONENTS[@]:1}"; do
    podman run --rm --network host --read-only --cap-drop ALL "${ENVS[@]}" "$IMG_REPO/$c:$IMG_TAG" topics \
      >"$STATE/topics-$c.log" 2>&1 || { cat "$STATE/topics-$c.log" >&2; die "$c topics failed"; }
  done
  log "[deploy-check] migrations and topic creation ran from the images ($(elapsed "$t"))"
  # Identity signs with a key file, as the chart mounts it (PKCS#8 Ed25519, read-only).
  openssl genpkey -algorithm ed25519 -out "$STATE/jwt-signing-key" 2>/dev/null
  chmod 644 "$STATE/jwt-signing-key"
  for c in "${COMPONENTS[@]}"; do
    if [[ $c == identity ]]; then
      run_one "$c" -v "$STATE/jwt-signing-key:/etc/evently/jwt/jwt-signing-key:ro" \
        -e JWT_SIGNING_KEY_FILE=/etc/evently/jwt/jwt-signing-key
    else
      run_one "$c"
    fi
  done
  for c in "${COMPONENTS[@]}"; do
    if ! wait_until 120 admin_ready "$c"; then
      curl -sS "http://127.0.0.1:$(($(port_of "$c") + 1000))/readyz" >&2 || true
      dump_logs "$c"; die "$c did not become ready"
    fi
  done
  log "[deploy-check] all seven images ready with --read-only, no capabilities, user $(podman exec "$CTR-booking" /evently healthcheck >/dev/null 2>&1 && podman inspect -f '{{.Config.User}}' "$CTR-booking") ($(elapsed "$t"))"
  # Ports: metrics only on the admin listener; the public readiness answer has no details.
  for c in "${COMPONENTS[@]}"; do
    p=$(port_of "$c")
    body=$(curl -fsS "http://127.0.0.1:$((p + 1000))/metrics")
    [[ $body == *"# HELP"* ]] || die "$c: no metrics on the admin port"
    [[ $(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p/metrics") == 404 ]] || die "$c: /metrics on the public port"
    body=$(curl -fsS "http://127.0.0.1:$p/readyz")
    [[ $body != *checks* ]] || die "$c: public /readyz shows check details: $body"
    body=$(curl -fsS "http://127.0.0.1:$((p + 1000))/readyz")
    [[ $body == *checks* ]] || die "$c: admin /readyz lacks check details: $body"
  done
  log "[deploy-check] metrics and check details on the admin ports only"
  # The JWKS must publish the mounted key's public half: identity signs with the file.
  local want got
  want=$(openssl pkey -in "$STATE/jwt-signing-key" -pubout -outform DER | tail -c 32 | base64 -w0 | tr '+/' '-_' | tr -d '=')
  got=$(curl -fsS "http://127.0.0.1:$BASE/.well-known/jwks.json" | jq -r '.keys[].x')
  [[ $got == *"$want"* ]] || die "identity does not sign with the mounted key file (JWKS x: $got, key: $want)"
  EVENTLY_URL="http://127.0.0.1:$BASE" ADMIN_PASSWORD=evently-admin bash "$REPO_ROOT/scripts/seed.sh" >"$STATE/seed.log" 2>&1 ||
    { tail -20 "$STATE/seed.log" >&2; dump_logs gateway identity catalog; die "seeding through the gateway container failed"; }
  local ref
  ref=$(book_seat "http://127.0.0.1:$BASE") || { dump_logs gateway inventory booking; die "booking a seat through the containers failed"; }
  log "[deploy-check] seeded and booked $ref through the gateway container ($(elapsed "$t"))"
}

# --- 5. one per-service Compose file for real ----------------------------------------------
# podman-compose from PyPI in a private virtualenv (Debian's 1.0.3 predates `include`).
PODMAN_COMPOSE_VERSION=1.6.0
ensure_podman_compose() {
  local venv="$STATE/venv"
  if [[ ! -x $venv/bin/podman-compose ]] || ! "$venv/bin/podman-compose" --version 2>/dev/null | grep -q "$PODMAN_COMPOSE_VERSION"; then
    rm -rf "$venv"
    python3 -m venv "$venv" >/dev/null 2>&1 || {
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; python3 -m venv "$venv"; }
    "$venv/bin/pip" install -q "podman-compose==$PODMAN_COMPOSE_VERSION" >/dev/null
  fi
  PODMAN_COMPOSE=("$venv/bin/podman-compose")
}

# Replaces the booking container with deploy/compose/booking.yaml + local/booking.yaml
# (same ports, database and prefixes), waits for Compose's healthcheck, and books a seat
# through the gateway, which now reaches the composed booking service.
run_compose() {
  local t p health=""; t=$(now_ms)
  ensure_podman_compose
  podman rm -f -t 5 "$CTR-booking" >/dev/null
  p=$(port_of booking)
  COMPOSE_FILES=(-f deploy/compose/booking.yaml -f deploy/compose/local/booking.yaml)
  COMPOSE_UP=1
  env EVENTLY_IMAGE_REPO=$IMG_REPO EVENTLY_TAG=$IMG_TAG IDENTITY_ASSERTION_SECRET="$SECRET" \
    DATABASE_URL="postgres://$PG_USER:$PG_PASSWORD@$PG_HOST:$PG_PORT/$DB?sslmode=disable" \
    KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:9092}" KAFKA_TOPIC_PREFIX="$PREFIX" KAFKA_PARTITIONS=2 \
    INVENTORY_URL="http://127.0.0.1:$(port_of inventory)" \
    BOOKING_HTTP_ADDR="127.0.0.1:$p" BOOKING_ADMIN_ADDR="127.0.0.1:$((p + 1000))" \
    "${PODMAN_COMPOSE[@]}" -p "$CTR" "${COMPOSE_FILES[@]}" up -d --no-build booking >"$STATE/compose.log" 2>&1 ||
    { cat "$STATE/compose.log" >&2; die "podman-compose up failed"; }
  local name; name=$(podman ps --filter "label=io.podman.compose.project=$CTR" --format '{{.Names}}' | head -1)
  [[ -n $name ]] || { cat "$STATE/compose.log" >&2; die "podman-compose started no container"; }
  composed_healthy() { podman healthcheck run "$name" >/dev/null 2>&1; }
  wait_until 120 composed_healthy || { podman logs --tail 30 "$name" >&2; die "the composed booking service did not pass its healthcheck"; }
  health=$(podman inspect -f '{{.State.Health.Status}}' "$name" 2>/dev/null || true)
  local ref
  ref=$(book_seat "http://127.0.0.1:$BASE") || { podman logs --tail 30 "$name" >&2; die "booking through the composed service failed"; }
  # The booking must have been served by the composed container.
  podman logs "$name" 2>&1 | grep -q '"route":"/api/v1/bookings/confirm"' ||
    die "the composed booking container did not serve the confirm request"
  log "[deploy-check] podman-compose ran booking.yaml + local/booking.yaml ($name, health ${health:-n/a}); booked $ref through it ($(elapsed "$t"))"
}

# Then the whole system from compose.yaml + local/compose.yaml in place of the seven
# containers of step 4: every component healthy, and a seat booked through the gateway.
run_compose_all() {
  local t c p name ref; t=$(now_ms)
  for c in "${COMPONENTS[@]}"; do podman rm -f -t 5 "$CTR-$c" >/dev/null 2>&1 || true; done
  podman ps -aq --filter "label=io.podman.compose.project=$CTR" | xargs -r podman rm -f -t 5 >/dev/null 2>&1
  local envs=(EVENTLY_IMAGE_REPO=$IMG_REPO EVENTLY_TAG=$IMG_TAG IDENTITY_ASSERTION_SECRET="$SECRET"
    ADMIN_PASSWORD=evently-admin RATE_LIMIT_ENABLED=false MIGRATE_ON_START=false
    JWT_KEY_ENCRYPTION_KEY="$(openssl rand -base64 32)"
    DATABASE_URL="postgres://$PG_USER:$PG_PASSWORD@$PG_HOST:$PG_PORT/$DB?sslmode=disable"
    KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:9092}" KAFKA_TOPIC_PREFIX="$PREFIX" KAFKA_PARTITIONS=2
    REDIS_ADDR="${REDIS_ADDR:-127.0.0.1:6379}" REDIS_KEY_PREFIX="$PREFIX" SMTP_HOST=127.0.0.1)
  for c in "${COMPONENTS[@]}"; do
    p=$(port_of "$c"); c=$(echo "$c" | tr a-z A-Z)
    envs+=("${c}_HTTP_ADDR=127.0.0.1:$p" "${c}_ADMIN_ADDR=127.0.0.1:$((p + 1000))" "${c}_URL=http://127.0.0.1:$p")
  done
  COMPOSE_ALL=1
  env "${envs[@]}" "${PODMAN_COMPOSE[@]}" -p "$CTR-all" -f deploy/compose/compose.yaml -f deploy/compose/local/compose.yaml \
    up -d --no-build "${COMPONENTS[@]}" >"$STATE/compose-all.log" 2>&1 ||
    { cat "$STATE/compose-all.log" >&2; die "podman-compose up (compose.yaml) failed"; }
  for c in "${COMPONENTS[@]}"; do
    name=$(podman ps --filter "label=io.podman.compose.project=$CTR-all" --filter "label=io.podman.compose.service=$c" --format '{{.Names}}' | head -1)
    [[ -n $name ]] || { cat "$STATE/compose-all.log" >&2; die "compose.yaml started no $c"; }
    composed_healthy() { podman healthcheck run "$1" >/dev/null 2>&1; }
    wait_until 120 composed_healthy "$name" || { podman logs --tail 30 "$name" >&2; die "composed $c did not pass its healthcheck"; }
  done
  ref=$(book_seat "http://127.0.0.1:$BASE") || { dump_logs gateway; die "booking through compose.yaml failed"; }
  log "[deploy-check] podman-compose ran compose.yaml + local/compose.yaml: seven healthy components; booked $ref ($(elapsed "$t"))"
}

# --- main ------------------------------------------------------------------------------------
main() {
  if ensure_podman; then
    export CONTAINERS_CONF="$STATE/containers.conf"
    # Root on a host without systemd cgroups: runc, cgroupfs, and no ulimit the host refuses.
    cat >"$CONTAINERS_CONF" <<'CONF'
[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
    local t; t=$(now_ms)
    make_go_base
    # Modules come from this machine's module cache first (make test filled it), then the proxy.
    GO_IMAGE=$GO_BASE BUILD_NETWORK=host IMAGE_REPO=$IMG_REPO IMAGE_TAG=$IMG_TAG ENGINE=podman \
      BUILD_MODCACHE=$(go env GOMODCACHE) \
      bash "$REPO_ROOT/scripts/images.sh"
    log "[deploy-check] seven images built from deploy/docker/Dockerfile ($(elapsed "$t"))"
    check_images
    trap cleanup EXIT
    run_images
    run_compose
    run_compose_all
  elif [[ -n ${CI:-} ]]; then
    die "podman could not be installed; the container checks cannot run"
  else
    warn "podman is not installed and could not be installed (apt-get install podman runc): skipping the image, container and Compose runs"
  fi
  if [[ ${1:-all} != containers ]]; then
    log "=== go test tests/deploy (Helm chart, kustomize overlays, Compose files)"
    (cd "$REPO_ROOT/tests/deploy" && go test -count=1 ./...)
  fi
  log "[deploy-check] passed in $(elapsed "$T0")"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
