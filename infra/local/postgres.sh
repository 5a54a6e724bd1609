#!/usr/bin/env bash
# A PostgreSQL cluster of the project's own, on its own port. PostgreSQL refuses to run
# as root, so as root every server command runs as the `postgres` user.
source "$(dirname "$0")/common.sh"
PIDFILE=$PIDS/postgres.pid

# The newest installed server (a bin/ with `postgres` in it; a client-only one has psql).
pg_bin() { ls /usr/lib/postgresql/*/bin/postgres 2>/dev/null | sort -V | tail -n 1 | xargs -r dirname; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# The data dir lives under .run/ unless the postgres user cannot reach it (a repo under
# /root, say); then it goes to a folder under /var/tmp named after the run dir.
data_dir() {
  local want=$RUN/postgres
  if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$RUN" 2>/dev/null; then
    want=/var/tmp/flashsale-pg-$(printf '%s' "$RUN" | md5sum | cut -c1-12)
  fi
  printf '%s' "$want"
}

up() {
  [ -n "$(pg_bin)" ] || apt_install postgresql
  local bin data; bin=$(pg_bin); data=$(data_dir)
  [ -n "$bin" ] || die "postgresql did not install"
  if port_open "$PG_PORT" && pid_alive "$PIDFILE"; then return 0; fi
  port_free "$PG_PORT" postgres
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$data"
    chmod 700 "$data"
    as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$LOGS/initdb.log"
    # Loopback only, trust auth: a developer's throwaway cluster, never a deployment.
    cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$data'
max_connections = 300
shared_buffers = 256MB
CONF
  fi
  as_pg "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null
  head -n 1 "$data/postmaster.pid" >"$PIDFILE"
  wait_port "$PG_PORT" postgres 60
  as_pg "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qtA -c \
    "SELECT 1 FROM pg_roles WHERE rolname='flashsale'" | grep -q 1 ||
    as_pg "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -q -c "CREATE ROLE flashsale LOGIN SUPERUSER"
  as_pg "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qtA -c \
    "SELECT 1 FROM pg_database WHERE datname='flashsale'" | grep -q 1 ||
    as_pg "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -q -c "CREATE DATABASE flashsale OWNER flashsale"
}

down() {
  local bin data; bin=$(pg_bin); data=$(data_dir)
  if [ -n "$bin" ] && [ -f "$data/postmaster.pid" ]; then
    as_pg "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  fi
  stop_pidfile "$PIDFILE" postgres
}
status() { pid_alive "$PIDFILE" && port_open "$PG_PORT"; }
"$@"
