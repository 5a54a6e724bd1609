#!/usr/bin/env bash
# make up / make down: the services as background processes, pid files and logs under .run/.
# `up` writes .run/services.env, the one file scripts and load tests read to find a system.
source "$(dirname "$0")/common.sh"
HERE=$(dirname "$0")
PY=${PYTHON:-$ROOT/.venv/bin/python}

GATEWAY_PORT=${FLASHSALE_GATEWAY_PORT:-18080}
ORDER_PORT=${FLASHSALE_ORDER_SERVICE_PORT:-18081}
SMTP_PORT=${FLASHSALE_SMTP_PORT:-11025}
DASHBOARD_PORT=${FLASHSALE_DASHBOARD_PORT:-18090}
INVENTORY_PORT=${FLASHSALE_POOL_METRICS_PORT:-18091}
NOTIFICATION_PORT=${FLASHSALE_NOTIFICATION_METRICS_PORT:-18092}
# name:port (port 0: a consumer with no HTTP port). Started in this order.
SERVICES=("mailsink:$SMTP_PORT" "order_service:$ORDER_PORT" "gateway:$GATEWAY_PORT" "dashboard:$DASHBOARD_PORT" "inventory_consumer:$INVENTORY_PORT" "notification_consumer:$NOTIFICATION_PORT")

command_of() { # the python -m arguments of a service
  case $1 in
    # A local SMTP server that keeps every mail in a Maildir (.run/mail/new): what
    # Mailpit is in the compose stack. The notification consumer sends real SMTP to it.
    mailsink) mkdir -p "$RUN/mail/cur" "$RUN/mail/new" "$RUN/mail/tmp"; echo "aiosmtpd -n -l 127.0.0.1:$SMTP_PORT -c aiosmtpd.handlers.Mailbox $RUN/mail" ;;
    # The autoscaling supervisor: it runs 1..N `python -m inventory_consumer` workers on lag.
    inventory_consumer) echo "inventory_consumer.pool" ;;
    *) echo "$1" ;;
  esac
}

services_env() {
  local token
  token=$(sed -n 's/^FLASHSALE_ADMIN_TOKEN=//p' "$RUN/services.env" 2>/dev/null || true)
  # Local dev mode only: a fresh random admin token, never a default one.
  [ -n "$token" ] || token=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(24))')
  cat >"$RUN/services.env" <<ENV
FLASHSALE_GATEWAY_URL=http://127.0.0.1:$GATEWAY_PORT
FLASHSALE_ORDER_SERVICE_URL=http://127.0.0.1:$ORDER_PORT
# The ports each service binds, and where the gateway finds the order service.
FLASHSALE_GATEWAY_PORT=$GATEWAY_PORT
FLASHSALE_ORDER_SERVICE_PORT=$ORDER_PORT
FLASHSALE_GATEWAY_ORDER_SERVICE_URL=http://127.0.0.1:$ORDER_PORT
FLASHSALE_ADMIN_TOKEN=$token
FLASHSALE_DEV_MODE=true
# Dev mode: loopback clients (the demo, load tests) act as the auth proxy in front of the
# gateway and name each buyer with X-Authenticated-User. Never trust loopback in production.
FLASHSALE_GATEWAY_TRUSTED_PROXIES='["127.0.0.1"]'
FLASHSALE_SMTP_HOST=127.0.0.1
FLASHSALE_SMTP_PORT=$SMTP_PORT
FLASHSALE_MAILDIR=$RUN/mail
# The write cap (peak shaving) for the whole inventory pool, shared by its workers (50/s
# each at 4 workers), well below the rate the demo's burst admits orders, so the demo
# shows the Kafka lag grow, the pool scale out, and the lag drain. 0: unthrottled.
FLASHSALE_MAX_ORDERS_PER_SECOND=${FLASHSALE_MAX_ORDERS_PER_SECOND:-200}
# Unpaid orders are cancelled after a minute locally (15 min by default), so a load test
# or a demo shows expiry giving the stock back; payments within the minute still win.
FLASHSALE_ORDER_TTL_S=${FLASHSALE_ORDER_TTL_S:-60}
# Each base URL answers /metrics. The inventory consumer's is its pool supervisor's, which
# adds up its workers' figures; the pool scales between 1 and 4 workers on the lag (low
# thresholds here, so the demo's backlog of about a thousand orders shows a scale-up).
# Backpressure: the gateway reads the pool's lag from Redis and lowers its global rate
# while the lag is over FLASHSALE_GATEWAY_BACKPRESSURE_HIGH_LAG.
FLASHSALE_GATEWAY_LAG_REDIS_URL=$FLASHSALE_REDIS_URL
# The live dashboard (make demo prints it): rates, lag, stock, workers, the invariants.
FLASHSALE_DASHBOARD_URL=http://127.0.0.1:$DASHBOARD_PORT
FLASHSALE_DASHBOARD_PORT=$DASHBOARD_PORT
FLASHSALE_INVENTORY_CONSUMER_URL=http://127.0.0.1:$INVENTORY_PORT
FLASHSALE_NOTIFICATION_CONSUMER_URL=http://127.0.0.1:$NOTIFICATION_PORT
FLASHSALE_POOL_METRICS_PORT=$INVENTORY_PORT
FLASHSALE_NOTIFICATION_METRICS_PORT=$NOTIFICATION_PORT
FLASHSALE_POOL_SCALE_UP_LAG=${FLASHSALE_POOL_SCALE_UP_LAG:-500}
FLASHSALE_POOL_SCALE_DOWN_LAG=${FLASHSALE_POOL_SCALE_DOWN_LAG:-100}
FLASHSALE_POOL_COOLDOWN_S=${FLASHSALE_POOL_COOLDOWN_S:-5}
ENV
}

start_one() { # start_one NAME PORT
  local name=$1 port=$2 pidfile=$PIDS/$1.pid
  pid_alive "$pidfile" && return 0
  # shellcheck disable=SC2046 # the command's words are meant to split
  nohup "$PY" -m $(command_of "$name") >"$LOGS/$name.log" 2>&1 &
  echo $! >"$pidfile"
  if [ "$port" != 0 ]; then
    wait_port "$port" "$name" 60
  else
    sleep 0.5
    pid_alive "$pidfile" || die "$name exited at once (see $LOGS/$name.log)"
  fi
}

up() {
  "$HERE/infra.sh" up
  set -a; source "$RUN/infra.env"; set +a
  services_env
  set -a; source "$RUN/services.env"; set +a
  "$PY" -m flashsale.cli init
  local entry
  for entry in "${SERVICES[@]}"; do start_one "${entry%%:*}" "${entry##*:}"; done
  status
}

down() {
  local i
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do stop_pidfile "$PIDS/${SERVICES[$i]%%:*}.pid" "${SERVICES[$i]%%:*}"; done
  "$HERE/infra.sh" down
}

status() {
  local entry name
  for entry in "${SERVICES[@]}"; do
    name=${entry%%:*}
    if pid_alive "$PIDS/$name.pid"; then printf '%-22s up    pid %s\n' "$name" "$(cat "$PIDS/$name.pid")"; else printf '%-22s DOWN\n' "$name"; fi
  done
}
"$@"
