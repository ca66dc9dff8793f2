#!/usr/bin/env bash
# Builds one container image per Evently component from deploy/docker/Dockerfile with
# whichever engine exists (podman first, then docker).
#
#   IMAGE_REPO     image name prefix                  (evently)      -> evently/booking
#   IMAGE_TAG      tag                                (dev)
#   GO_IMAGE       build stage base                   (the Dockerfile's default, golang:1.26)
#   RUNTIME_IMAGE  runtime base                       (the Dockerfile's default, scratch)
#   COMPONENTS     which ones                         (all seven)
#   ENGINE         podman or docker                   (detected)
#   BUILD_NETWORK  build-time network, e.g. host      (engine default)
#   BUILD_MODCACHE a Go module cache to read modules from before the network (podman only:
#                  mounted read-only and put first in GOPROXY), e.g. $(go env GOMODCACHE)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

: "${IMAGE_REPO:=evently}" "${IMAGE_TAG:=dev}"
: "${COMPONENTS:=gateway identity catalog inventory booking waitlist analytics}"
if [[ -z ${ENGINE:-} ]]; then
  if command -v podman >/dev/null; then ENGINE=podman
  elif command -v docker >/dev/null; then ENGINE=docker
  else die "neither podman nor docker is installed (apt-get install podman runc)"; fi
fi

args=(--build-arg "VERSION=$IMAGE_TAG" --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  --build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)")
[[ -n ${GO_IMAGE:-} ]] && args+=(--build-arg "GO_IMAGE=$GO_IMAGE")
[[ -n ${RUNTIME_IMAGE:-} ]] && args+=(--build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE")
proxy=${GOPROXY:-$(go env GOPROXY 2>/dev/null || true)}
if [[ -n ${BUILD_MODCACHE:-} && $ENGINE == podman && -d $BUILD_MODCACHE/cache/download ]]; then
  args+=(--volume "$BUILD_MODCACHE/cache/download:/var/cache/gomod:ro")
  proxy="file:///var/cache/gomod${proxy:+,$proxy}"
fi
[[ -n $proxy ]] && args+=(--build-arg "GOPROXY=$proxy")
[[ -n ${BUILD_NETWORK:-} ]] && args+=(--network "$BUILD_NETWORK")

for c in $COMPONENTS; do
  t=$(now_ms)
  "$ENGINE" build -q -f deploy/docker/Dockerfile --build-arg "COMPONENT=$c" "${args[@]}" \
    -t "$IMAGE_REPO/$c:$IMAGE_TAG" . >/dev/null
  size=$("$ENGINE" image inspect --format '{{.Size}}' "$IMAGE_REPO/$c:$IMAGE_TAG")
  log "[images] $IMAGE_REPO/$c:$IMAGE_TAG $((size / 1024 / 1024)) MiB ($(elapsed "$t"))"
done
