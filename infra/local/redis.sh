#!/usr/bin/env bash
# Redis with AOF (appendfsync everysec) on its own port, data under .run/redis.
source "$(dirname "$0")/common.sh"
DIR=$RUN/redis
PIDFILE=$PIDS/redis.pid

up() {
  if pid_alive "$PIDFILE"; then return 0; fi
  need_pkg redis-server redis-server
  port_free "$REDIS_PORT" redis
  mkdir -p "$DIR"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$DIR" \
    --appendonly yes --appendfsync everysec --save "" \
    --daemonize yes --pidfile "$PIDFILE" --logfile "$LOGS/redis.log" >/dev/null
  wait_port "$REDIS_PORT" redis 20
  for _ in $(seq 1 50); do pid_alive "$PIDFILE" && break; sleep 0.1; done
}
down() { stop_pidfile "$PIDFILE" redis; }
status() { pid_alive "$PIDFILE" && port_open "$REDIS_PORT"; }
"$@"
