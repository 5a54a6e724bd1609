#!/usr/bin/env bash
# make infra-up / infra-down / infra-status. Idempotent: a second `up` is a no-op and
# `down` leaves no process behind. `up` writes .run/infra.env for scripts to source.
source "$(dirname "$0")/common.sh"
HERE=$(dirname "$0")

env_file() {
  cat >"$RUN/infra.env" <<ENV
FLASHSALE_KAFKA_BOOTSTRAP=$("$HERE/kafka.sh" bootstrap)
FLASHSALE_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
FLASHSALE_DATABASE_URL=postgresql+psycopg://flashsale@127.0.0.1:$PG_PORT/flashsale
ENV
}

install_missing() { # one apt run for all: parallel apt-get runs fight over the dpkg lock
  local pkgs=()
  command -v redis-server >/dev/null 2>&1 || pkgs+=(redis-server)
  # The server's binaries, not just a client's: postgresql-client also fills that bin/.
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || pkgs+=(postgresql)
  command -v java >/dev/null 2>&1 || pkgs+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null 2>&1 || pkgs+=(maven)
  [ ${#pkgs[@]} -eq 0 ] || apt_install "${pkgs[@]}"
}

up() {
  install_missing
  # Redis and PostgreSQL start while the JVM warms up: Kafka is the slow one.
  "$HERE/redis.sh" up & local r=$!
  "$HERE/postgres.sh" up & local p=$!
  "$HERE/kafka.sh" up
  wait $r || die "redis failed to start (see $LOGS/redis.log)"
  wait $p || die "postgres failed to start (see $LOGS)"
  env_file
  status
}

down() {
  "$HERE/kafka.sh" down & local k=$!
  "$HERE/redis.sh" down
  "$HERE/postgres.sh" down
  wait $k
  rm -f "$RUN/infra.env"
  log "infra stopped"
}

status() {
  local ok=0
  line() { if "$HERE/$1.sh" status; then printf '%-9s up    %s\n' "$1" "$2"; else printf '%-9s DOWN  %s\n' "$1" "$2"; ok=1; fi; }
  line kafka "$("$HERE/kafka.sh" bootstrap)"
  line redis "redis://127.0.0.1:$REDIS_PORT/0"
  line postgres "postgresql://flashsale@127.0.0.1:$PG_PORT/flashsale"
  return $ok
}
"$@"
