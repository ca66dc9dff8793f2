# shellcheck shell=bash
# Small helpers shared by the scripts in this folder. Source it; do not run it.
# SC2016: the single-quoted `bash -c` bodies expand in the child shell.
# SC2034: variables defined here are used by the scripts that source it.
# shellcheck disable=SC2016,SC2034

# Resolve from this file, not from $PWD, so every script works from any cwd.
SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPTS_DIR/.." && pwd)"

: "${EVENTLY_DATA_DIR:=$REPO_ROOT/.data}"
# Later code compares and hashes this path, so make it canonical once.
mkdir -p "$EVENTLY_DATA_DIR"
EVENTLY_DATA_DIR="$(cd "$EVENTLY_DATA_DIR" && pwd)"
export EVENTLY_DATA_DIR

# Kafka version is also pinned in scripts/kafka/pom.xml; the libs marker stores
# the pom's hash, so bumping it there is enough to trigger a re-fetch.
KAFKA_VERSION=4.1.1
KAFKA_HOME="$EVENTLY_DATA_DIR/kafka"
KAFKA_LIBS="$KAFKA_HOME/libs"

log()  { printf '%s\n' "$*"; }
warn() { printf 'WARN: %s\n' "$*" >&2; }
die()  { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

now_ms() { date +%s%3N; }
# Seconds with one decimal since a now_ms timestamp.
elapsed() { local d=$(( $(now_ms) - $1 )); printf '%d.%ds' $((d / 1000)) $(((d % 1000) / 100)); }

# "host:port" -> sets ${prefix}_HOST and ${prefix}_PORT. IPv6 literals are not
# supported on purpose: everything here binds to IPv4 loopback.
split_addr() {
  local addr=$1 prefix=$2
  [[ $addr == *:* ]] || die "address '$addr' must be host:port"
  printf -v "${prefix}_HOST" '%s' "${addr%:*}"
  printf -v "${prefix}_PORT" '%s' "${addr##*:}"
}

# TCP connect probe via bash's /dev/tcp, so no netcat is needed on a fresh box.
port_open() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# wait_until SECONDS CMD... : poll CMD every 0.25 s; non-zero on timeout.
wait_until() {
  local deadline=$(( $(now_ms) + $1 * 1000 )); shift
  until "$@"; do
    (( $(now_ms) < deadline )) || return 1
    sleep 0.25
  done
}

tail_log() {
  local file=$1 n=${2:-40}
  if [[ -r $file ]]; then
    printf -- '----- last %d lines of %s -----\n' "$n" "$file" >&2
    tail -n "$n" "$file" >&2
    printf -- '-----\n' >&2
  else
    printf '(no log at %s)\n' "$file" >&2
  fi
}

# pid from a pid file if that process is alive and its command line contains
# $2; guards against pid reuse after a reboot or a crash.
live_pid() {
  local pidfile=$1 expect=$2 pid
  [[ -r $pidfile ]] || return 1
  pid=$(tr -dc '0-9' <"$pidfile")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  [[ $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) == *"$expect"* ]] || return 1
  printf '%s\n' "$pid"
}

# stop_pidfile NAME PIDFILE EXPECT [GRACE_SECONDS]: TERM, wait, then KILL.
stop_pidfile() {
  local name=$1 pidfile=$2 expect=$3 grace=${4:-20} pid
  if ! pid=$(live_pid "$pidfile" "$expect"); then
    rm -f "$pidfile"
    log "$name: not running (nothing started by infra.sh)"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_until "$grace" bash -c '! kill -0 "$1" 2>/dev/null' _ "$pid"; then
    warn "$name (pid $pid) did not stop within ${grace}s; killing"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 5 bash -c '! kill -0 "$1" 2>/dev/null' _ "$pid" || true
  fi
  rm -f "$pidfile"
  log "$name: stopped (pid $pid)"
}

is_root() { [[ $EUID -eq 0 ]]; }

# apt-get update is slow and needs the network, so do it at most once per run
# and only when something is actually missing.
_APT_UPDATED=0
apt_install() {
  is_root || die "need root to apt-get install $*; install it by hand and retry"
  local created_policy=0
  # Debian's postinst would start the packaged service (e.g. redis on :6379),
  # which would then squat the port we want for our own instance.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  local rc=0 aptlog="$EVENTLY_DATA_DIR/apt.log"
  {
    if (( _APT_UPDATED == 0 )); then
      DEBIAN_FRONTEND=noninteractive apt-get update && _APT_UPDATED=1
    fi &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
  } >>"$aptlog" 2>&1 || rc=$?
  if (( created_policy )); then rm -f /usr/sbin/policy-rc.d; fi
  (( rc == 0 )) || tail_log "$aptlog" 20
  return "$rc"
}

# need_cmd CMD PACKAGE: install PACKAGE via apt when CMD is not on PATH.
need_cmd() {
  command -v "$1" >/dev/null 2>&1 && return 0
  local t0; t0=$(now_ms)
  log "installing $2 (for $1) via apt-get ..."
  apt_install "$2" || die "apt-get install $2 failed"
  command -v "$1" >/dev/null 2>&1 || die "$1 still missing after installing $2"
  log "installed $2 in $(elapsed "$t0")"
}

kafka_libs_ready() {
  [[ -f $KAFKA_LIBS/.complete ]] && compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null
}
