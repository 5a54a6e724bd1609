#!/usr/bin/env bash
# Apache Kafka in KRaft mode from the Maven Central jars: no Docker, no download from
# anywhere else. KAFKA_BROKERS=3 starts a 3-node cluster (every node broker+controller)
# whose topics default to replication factor 3 and min.insync.replicas=2.
source "$(dirname "$0")/common.sh"
KDIR=$RUN/kafka
# FLASHSALE_KAFKA_LIB lets a second, dedicated cluster (fault tests) reuse the resolved jars.
LIB=${FLASHSALE_KAFKA_LIB:-$KDIR/lib}
HEAP=${FLASHSALE_KAFKA_HEAP:-768m}

broker_port() { echo $((KAFKA_PORT + 2 * ($1 - 1))); }
controller_port() { echo $((KAFKA_PORT + 1 + 2 * ($1 - 1))); }
pidfile() { echo "$PIDS/kafka-$1.pid"; }
# Network-fault tests only: with FLASHSALE_KAFKA_PROXY_PORT set, broker N also listens on an
# EXTERNAL listener (port below, after every broker's and controller's) and advertises
# 127.0.0.1:(PROXY_PORT + N-1) for it, where a Toxiproxy proxy forwards to that listener.
# Clients that bootstrap through the proxy then reach every broker through it, while
# inter-broker and controller traffic stays direct. Unset: no EXTERNAL listener at all.
PROXY_PORT=${FLASHSALE_KAFKA_PROXY_PORT:-}
external_port() { echo $((KAFKA_PORT + 2 * KAFKA_BROKERS + $1 - 1)); }

resolve_jars() {
  [ -f "$LIB/.resolved" ] && return 0
  need_pkg java openjdk-17-jre-headless
  need_pkg mvn maven
  log "resolving Apache Kafka from Maven Central (first run only)"
  rm -rf "$LIB"
  mvn -q -B -f "$ROOT/infra/local/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$LIB" -DincludeScope=runtime >"$LOGS/maven.log" 2>&1 ||
    die "maven could not resolve Kafka (see $LOGS/maven.log)"
  touch "$LIB/.resolved"
}

voters() {
  local out="" i
  for i in $(seq 1 "$KAFKA_BROKERS"); do out="$out${out:+,}$i@127.0.0.1:$(controller_port "$i")"; done
  echo "$out"
}

write_properties() { # write_properties NODE
  local n=$1 rf=1 isr=1 listen="" advertise="" protocols=""
  [ "$KAFKA_BROKERS" -ge 3 ] && rf=3 isr=2
  if [ -n "$PROXY_PORT" ]; then
    listen=",EXTERNAL://127.0.0.1:$(external_port "$n")"
    advertise=",EXTERNAL://127.0.0.1:$((PROXY_PORT + n - 1))"
    protocols=",EXTERNAL:PLAINTEXT"
  fi
  mkdir -p "$KDIR/node-$n"
  cat >"$KDIR/node-$n/server.properties" <<PROPS
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$(voters)
listeners=PLAINTEXT://127.0.0.1:$(broker_port "$n"),CONTROLLER://127.0.0.1:$(controller_port "$n")$listen
advertised.listeners=PLAINTEXT://127.0.0.1:$(broker_port "$n")$advertise
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT$protocols
log.dirs=$KDIR/node-$n/data
# Topics are created on purpose by \`flashsale init\`, never by a typo in a client.
auto.create.topics.enable=false
num.partitions=12
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
# Tests and demos start consumers all the time: do not wait 3s before the first rebalance.
group.initial.rebalance.delay.ms=0
log.retention.hours=168
# A killed broker loses its partitions' leadership after 3 s instead of 9 s: failover tests
# (and a demo that kills a broker) see a short stall, not a long one.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000
PROPS
}

write_log_config() {
  cat >"$KDIR/log4j2.properties" <<'CONF'
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
CONF
}

jvm_args() { # jvm_args NODE: sets JVM_ARGS for that node
  JVM_ARGS=(-Xms256m -Xmx"$HEAP" -XX:+UseG1GC -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$KDIR/log4j2.properties" -Dkafka.logs.dir="$KDIR/node-$1"
    -cp "$LIB/*")
}
java_run() { # java_run NODE CLASS ARGS...
  jvm_args "$1"; shift
  java "${JVM_ARGS[@]}" "$@"
}

format_storage() {
  # A cluster formatted for another broker count cannot be reused: start it afresh.
  if [ "$(cat "$KDIR/brokers" 2>/dev/null)" != "$KAFKA_BROKERS" ]; then
    rm -rf "$KDIR"/node-* "$KDIR/cluster.id"
  fi
  [ -f "$KDIR/cluster.id" ] || java_run 1 kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1 >"$KDIR/cluster.id"
  local i
  for i in $(seq 1 "$KAFKA_BROKERS"); do
    write_properties "$i"
    [ -f "$KDIR/node-$i/data/meta.properties" ] && continue
    java_run "$i" kafka.tools.StorageTool format -t "$(cat "$KDIR/cluster.id")" \
      -c "$KDIR/node-$i/server.properties" --ignore-formatted >>"$LOGS/kafka-format.log" 2>&1 ||
      die "kafka storage format failed (see $LOGS/kafka-format.log)"
  done
  echo "$KAFKA_BROKERS" >"$KDIR/brokers"
}

running_count() { local c=0 f; for f in "$PIDS"/kafka-*.pid; do pid_alive "$f" && c=$((c + 1)); done; echo $c; }

up() {
  local running; running=$(running_count)
  if [ "$running" -gt 0 ]; then
    [ "$(cat "$KDIR/brokers" 2>/dev/null)" = "$KAFKA_BROKERS" ] ||
      die "kafka runs with $(cat "$KDIR/brokers") broker(s); run 'make infra-down' before asking for $KAFKA_BROKERS"
    [ "$running" -eq "$KAFKA_BROKERS" ] && return 0
  fi
  mkdir -p "$KDIR"
  resolve_jars
  write_log_config
  format_storage
  local i
  for i in $(seq 1 "$KAFKA_BROKERS"); do
    pid_alive "$(pidfile "$i")" && continue
    port_free "$(broker_port "$i")" "kafka broker $i"
    port_free "$(controller_port "$i")" "kafka controller $i"
    [ -z "$PROXY_PORT" ] || port_free "$(external_port "$i")" "kafka external listener $i"
    : >"$KDIR/node-$i/server.log"
    jvm_args "$i"
    # nohup execs java, so $! is the JVM's own pid, the one `down` signals.
    nohup java "${JVM_ARGS[@]}" kafka.Kafka "$KDIR/node-$i/server.properties" >"$LOGS/kafka-$i.out" 2>&1 &
    echo $! >"$(pidfile "$i")"
  done
  for i in $(seq 1 "$KAFKA_BROKERS"); do wait_started "$i"; done
}

wait_started() { # the broker has joined when its log says so, not when its port opens
  local deadline=$((SECONDS + 120)) log=$KDIR/node-$1/server.log
  until grep -q "Kafka Server started" "$log" 2>/dev/null; do
    pid_alive "$(pidfile "$1")" || die "kafka broker $1 exited (see $log and $LOGS/kafka-$1.out)"
    [ $SECONDS -lt $deadline ] || die "kafka broker $1 did not start within 120s (see $log)"
    sleep 0.3
  done
  wait_port "$(broker_port "$1")" "kafka broker $1" 30
}

down() {
  local f
  for f in "$PIDS"/kafka-*.pid; do [ -f "$f" ] && stop_pidfile "$f" kafka & done
  wait
}

status() { local n; n=$(cat "$KDIR/brokers" 2>/dev/null || echo 1); [ "$(running_count)" -ge "$n" ] && [ "$n" -ge 1 ]; }

bootstrap() {
  local n out="" i; n=$(cat "$KDIR/brokers" 2>/dev/null || echo "$KAFKA_BROKERS")
  for i in $(seq 1 "$n"); do out="$out${out:+,}127.0.0.1:$(broker_port "$i")"; done
  echo "$out"
}
"$@"
