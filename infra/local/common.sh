# Shared helpers for the no-Docker local infrastructure. Sourced, never run.
# Every service lives under $RUN (the repo's ignored .run/) and listens on loopback
# ports of its own, so it never fights a system Redis, PostgreSQL or Kafka.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN=${FLASHSALE_RUN_DIR:-$ROOT/.run}
LOGS=$RUN/logs
PIDS=$RUN/pids
mkdir -p "$LOGS" "$PIDS"

REDIS_PORT=${FLASHSALE_REDIS_PORT:-16379}
PG_PORT=${FLASHSALE_PG_PORT:-15432}
KAFKA_PORT=${FLASHSALE_KAFKA_PORT:-19092}   # broker N listens on KAFKA_PORT + 2(N-1)
KAFKA_BROKERS=${KAFKA_BROKERS:-1}

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Installs Debian packages only when a command is missing; apt-get update runs once.
APT_UPDATED=0
apt_install() { # apt_install PACKAGE...
  command -v apt-get >/dev/null 2>&1 || die "missing $* and no apt-get: install them by hand"
  if [ "$APT_UPDATED" -eq 0 ]; then as_root apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null; APT_UPDATED=1; fi
  log "installing $* from Debian's packages"
  # Wait for the dpkg lock rather than fail on it (another apt run, an unattended upgrade).
  DEBIAN_FRONTEND=noninteractive as_root apt-get -o DPkg::Lock::Timeout=300 install -y -qq "$@" >/dev/null
}
need_pkg() { # need_pkg COMMAND PACKAGE...: install the packages when COMMAND is missing
  command -v "$1" >/dev/null 2>&1 && return 0
  shift
  apt_install "$@"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # wait_port PORT NAME SECONDS
  local deadline=$((SECONDS + ${3:-60}))
  until port_open "$1"; do
    [ $SECONDS -lt $deadline ] || die "$2 did not open 127.0.0.1:$1 within ${3:-60}s (see $LOGS)"
    sleep 0.2
  done
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

port_free() { # port_free PORT NAME: refuse to start on a port another process holds
  ! port_open "$1" || die "$2: 127.0.0.1:$1 is already in use by another process (not ours: no live pid file)"
}

stop_pidfile() { # stop_pidfile FILE NAME: SIGTERM, wait up to 30s, then SIGKILL.
  local file=$1 name=$2 pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then log "$name did not stop on SIGTERM, killing"; kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$file"
}
