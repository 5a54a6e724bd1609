#!/usr/bin/env bash
# Toxiproxy, the TCP proxy the network-fault tests put between the services and Kafka
# (latency, connection resets), built from the Go module proxy: no download from anywhere
# else. `install` builds it once into .run/bin; `up` starts the server on its own port.
source "$(dirname "$0")/common.sh"
# v2.8.0: the newest release that Debian's golang-go (Go 1.19) builds (checked);
# later go.mod files need Go 1.22+. It has every toxic the tests use (latency, reset_peer).
VERSION=v2.8.0
# The binary is shared by every run dir (a dedicated one per test), like Kafka's jars.
BIN=${FLASHSALE_BIN_DIR:-$ROOT/.run/bin}
SERVER=$BIN/toxiproxy-server
TOXIPROXY_PORT=${FLASHSALE_TOXIPROXY_PORT:-18474}
PIDFILE=$PIDS/toxiproxy.pid

installed() { [ -x "$SERVER" ] && [ "$(cat "$BIN/toxiproxy.version" 2>/dev/null)" = "$VERSION" ]; }

install() {
  installed && return 0
  mkdir -p "$BIN"
  # Two test sessions installing at once build once: the second waits, then finds it.
  exec 9>"$BIN/.toxiproxy.lock"
  flock 9
  installed && return 0
  need_pkg go golang-go
  log "building toxiproxy $VERSION from the Go module proxy (first run only)"
  local build=$BIN/.toxiproxy-build
  rm -rf "$build"
  mkdir -p "$build/bin"
  # Module and build caches of their own (writable, so rm works without root), deleted
  # after: nothing outside the repo changes, and 200 MB of caches do not stay in .run/.
  # The build log sits beside the binary, not in a test's run dir that is deleted after.
  GOBIN=$build/bin GOMODCACHE=$build/mod GOCACHE=$build/cache GOFLAGS=-modcacherw \
    go install "github.com/Shopify/toxiproxy/v2/cmd/...@$VERSION" >"$BIN/toxiproxy-build.log" 2>&1 ||
    { tail -n 20 "$BIN/toxiproxy-build.log" >&2; die "go install of toxiproxy $VERSION failed (see $BIN/toxiproxy-build.log)"; }
  # cmd/server and cmd/cli install as `server` and `cli`: names that say nothing in bin/.
  mv "$build/bin/server" "$SERVER"
  mv "$build/bin/cli" "$BIN/toxiproxy-cli"
  rm -rf "$build"
  echo "$VERSION" >"$BIN/toxiproxy.version"
}

up() {
  if pid_alive "$PIDFILE"; then return 0; fi
  install
  port_free "$TOXIPROXY_PORT" toxiproxy
  # Info, not debug: debug logs a line per proxied connection and HTTP call.
  LOG_LEVEL=info nohup "$SERVER" -host 127.0.0.1 -port "$TOXIPROXY_PORT" >"$LOGS/toxiproxy.log" 2>&1 &
  echo $! >"$PIDFILE"
  wait_port "$TOXIPROXY_PORT" toxiproxy 20
}
down() { stop_pidfile "$PIDFILE" toxiproxy; }
status() { pid_alive "$PIDFILE" && port_open "$TOXIPROXY_PORT"; }
"$@"
