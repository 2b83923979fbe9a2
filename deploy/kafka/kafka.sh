#!/usr/bin/env bash
# A single-node Apache Kafka broker (KRaft: broker and controller in one JVM) for development and CI,
# run from jars that Maven fetches out of Maven Central: no tarball, no Docker.
#
#   kafka.sh start    fetch jars once, format storage once, start in the background, wait until ready
#   kafka.sh stop     stop it (TERM, then KILL after a deadline); fine to call when nothing runs
#   kafka.sh status   print whether it runs; exit 0 when it does, 3 when it does not
#   kafka.sh wait     wait until a started broker is ready (same check as start)
#
# Environment (all optional):
#   DRIFTGATE_KAFKA_DIR              run dir: server.properties, data, logs, pid   (deploy/kafka/run)
#   DRIFTGATE_KAFKA_PORT             client (PLAINTEXT) port on 127.0.0.1           (9092)
#   DRIFTGATE_KAFKA_CONTROLLER_PORT  KRaft controller port on 127.0.0.1            (9093)
#   DRIFTGATE_KAFKA_START_TIMEOUT    seconds that start/wait give the broker        (90)
#   DRIFTGATE_KAFKA_STOP_TIMEOUT     seconds that stop waits after TERM before KILL (30)
#   DRIFTGATE_KAFKA_HEAP             JVM heap flags                        (-Xms256m -Xmx512m)
#   DRIFTGATE_MAVEN_REPO             Maven local repository for the download  (Maven's ~/.m2 default)
set -euo pipefail

KAFKA_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LIB_DIR="$KAFKA_HOME/lib"
RUN_DIR="${DRIFTGATE_KAFKA_DIR:-$KAFKA_HOME/run}"
PORT="${DRIFTGATE_KAFKA_PORT:-9092}"
CONTROLLER_PORT="${DRIFTGATE_KAFKA_CONTROLLER_PORT:-9093}"
START_TIMEOUT="${DRIFTGATE_KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT="${DRIFTGATE_KAFKA_STOP_TIMEOUT:-30}"
HEAP="${DRIFTGATE_KAFKA_HEAP:--Xms256m -Xmx512m}"
HOST=127.0.0.1

DATA_DIR="$RUN_DIR/data"
LOG_DIR="$RUN_DIR/logs"
BROKER_LOG="$LOG_DIR/broker.log"
PROPS="$RUN_DIR/server.properties"
PID_FILE="$RUN_DIR/kafka.pid"
# What the storage was formatted for: the standalone controller's address is written into the
# metadata log at format time, so a different controller port needs a fresh format.
FORMAT_STAMP="$DATA_DIR/.driftgate-format"
LIB_STAMP="$LIB_DIR/.driftgate-pom.sha256"
READY_LINE='Kafka Server started'

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# --- jars --------------------------------------------------------------------------------------

pom_hash() { sha256sum "$KAFKA_HOME/pom.xml" | cut -d' ' -f1; }

# Copies the broker's runtime jars into lib/ unless lib/ already holds the set for this pom.
# Maven writes into a scratch directory first and the stamp is written last, so an interrupted
# fetch never leaves a lib/ that a later start would trust.
ensure_jars() {
  local want
  want="$(pom_hash)"
  if [[ -f "$LIB_STAMP" && "$(cat "$LIB_STAMP")" == "$want" ]]; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn is not on PATH: it is needed once to fetch the Kafka jars"
  log "fetching Kafka jars from Maven Central into $LIB_DIR (once)"
  local scratch
  scratch="$(mktemp -d "${TMPDIR:-/tmp}/driftgate-kafka-jars.XXXXXX")"
  local repo_args=()
  if [[ -n "${DRIFTGATE_MAVEN_REPO:-}" ]]; then
    repo_args=("-Dmaven.repo.local=$DRIFTGATE_MAVEN_REPO")
  fi
  if ! mvn -B "${repo_args[@]}" -f "$KAFKA_HOME/pom.xml" \
      dependency:copy-dependencies -DoutputDirectory="$scratch/lib" >"$scratch/mvn.log" 2>&1; then
    tail -n 40 "$scratch/mvn.log" >&2
    rm -rf "$scratch"
    die "mvn could not fetch the Kafka jars (its output is above)"
  fi
  rm -rf "$LIB_DIR"
  mv "$scratch/lib" "$LIB_DIR"
  rm -rf "$scratch"
  printf '%s\n' "$want" >"$LIB_STAMP"
}

# --- java --------------------------------------------------------------------------------------

check_java() {
  command -v java >/dev/null 2>&1 || die "java is not on PATH: Kafka 4.x needs Java 17 or newer"
  local version major
  version="$(java -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)"
  major="${version%%.*}"
  if [[ "$major" =~ ^[0-9]+$ ]] && ((major < 17)); then
    die "java $version found, Kafka 4.x needs Java 17 or newer"
  fi
}

# Java options close to those of Kafka's own kafka-run-class.sh, with a smaller heap.
java_opts() {
  # shellcheck disable=SC2206 # HEAP is a list of flags on purpose
  JAVA_OPTS=($HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$KAFKA_HOME/log4j2.properties"
    -cp "$LIB_DIR/*")
}

# --- process state -----------------------------------------------------------------------------

# True while pid is a live Kafka broker JVM running this run dir's server.properties. Reading its
# command line, rather than kill -0, guards against a stale pid file whose number now belongs to
# another process, and treats a zombie (whose command line is empty) as gone.
is_broker() {
  tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "kafka.Kafka $PROPS"
}

# Prints the pid of our broker when it runs.
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  is_broker "$pid" || return 1
  printf '%s\n' "$pid"
}

port_open() {
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

broker_log_tail() {
  if [[ -f "$BROKER_LOG" ]]; then
    log "last lines of $BROKER_LOG:"
    tail -n 40 "$BROKER_LOG" >&2
  else
    log "no broker log at $BROKER_LOG"
  fi
}

# Waits until the client port accepts connections and the broker has logged that it started.
# Fails early when the JVM exits.
wait_ready() {
  local deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! running_pid >/dev/null; then
      log "the broker exited before it was ready"
      broker_log_tail
      return 1
    fi
    if port_open "$PORT" && grep -q "$READY_LINE" "$BROKER_LOG" 2>/dev/null; then
      return 0
    fi
    sleep 0.25
  done
  log "the broker was not ready within ${START_TIMEOUT}s"
  broker_log_tail
  return 1
}

# --- configuration -----------------------------------------------------------------------------

write_properties() {
  cat >"$PROPS" <<EOF
# Written by deploy/kafka/kafka.sh on each start; edits here are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR

# One broker: every internal topic gets a single replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Tests join and leave groups often: do not hold the first rebalance back.
group.initial.rebalance.delay.ms=0
num.partitions=3
auto.create.topics.enable=true
EOF
}

format_storage() {
  local want="controller=$HOST:$CONTROLLER_PORT"
  if [[ -f "$DATA_DIR/meta.properties" && -f "$FORMAT_STAMP" && "$(cat "$FORMAT_STAMP")" == "$want" ]]; then
    return 0
  fi
  if [[ -d "$DATA_DIR" ]]; then
    log "storage in $DATA_DIR was formatted for another controller address or not at all: wiping it"
    rm -rf "$DATA_DIR"
  fi
  mkdir -p "$DATA_DIR"
  local cluster_id
  cluster_id="$(java "${JAVA_OPTS[@]}" kafka.tools.StorageTool random-uuid 2>>"$BROKER_LOG" | tail -n1)" || true
  # A Kafka Uuid prints as 22 characters of URL-safe base64.
  [[ "$cluster_id" =~ ^[A-Za-z0-9_-]{22}$ ]] || {
    broker_log_tail
    die "StorageTool random-uuid printed no cluster id (got '$cluster_id')"
  }
  if ! java "${JAVA_OPTS[@]}" kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$PROPS" \
      >>"$BROKER_LOG" 2>&1; then
    broker_log_tail
    die "StorageTool format failed"
  fi
  printf '%s\n' "$want" >"$FORMAT_STAMP"
}

# --- commands ----------------------------------------------------------------------------------

cmd_start() {
  local pid
  if pid="$(running_pid)"; then
    local want have
    want="listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT"
    have="$(grep '^listeners=' "$PROPS" 2>/dev/null || true)"
    if [[ "$have" != "$want" ]]; then
      die "already running (pid $pid) with ${have:-unknown listeners}, not the requested ports: stop it first"
    fi
    log "already running (pid $pid) on $HOST:$PORT"
    wait_ready
    return
  fi
  for p in "$PORT" "$CONTROLLER_PORT"; do
    if port_open "$p"; then
      die "port $p on $HOST is already taken by a process that is not this broker (run dir $RUN_DIR)"
    fi
  done
  check_java
  ensure_jars
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  : >"$BROKER_LOG"
  java_opts
  write_properties
  format_storage

  # setsid gives the broker its own session, so a Ctrl-C in the calling shell (or a test runner
  # ending its process group) does not take the broker down with it. The inner shell writes its own
  # pid and then execs java, so the pid file names the JVM whether or not setsid had to fork.
  # 9>&- keeps the lock descriptor out of the broker: it must not hold the lock while it runs.
  rm -f "$PID_FILE"
  # shellcheck disable=SC2016 # $$ and $@ are for the inner shell
  nohup setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' kafka-broker "$PID_FILE" \
    java "${JAVA_OPTS[@]}" kafka.Kafka "$PROPS" >>"$BROKER_LOG" 2>&1 </dev/null 9>&- &
  local waited=0
  until [[ -s "$PID_FILE" ]] || ((waited >= 40)); do
    sleep 0.05
    waited=$((waited + 1))
  done
  pid="$(cat "$PID_FILE" 2>/dev/null || echo '?')"
  log "started pid $pid, waiting up to ${START_TIMEOUT}s for $HOST:$PORT"
  if ! wait_ready; then
    cmd_stop >/dev/null 2>&1 || true
    exit 1
  fi
  log "ready on $HOST:$PORT (log: $BROKER_LOG)"
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while is_broker "$pid" && ((SECONDS < deadline)); do
    sleep 0.25
  done
  if is_broker "$pid"; then
    log "pid $pid still running after ${STOP_TIMEOUT}s: sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while is_broker "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
  fi
  rm -f "$PID_FILE"
  log "stopped pid $pid"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    echo "running pid=$pid $(grep '^listeners=' "$PROPS" 2>/dev/null || true) dir=$RUN_DIR"
    return 0
  fi
  echo "stopped dir=$RUN_DIR"
  return 3
}

cmd_wait() {
  running_pid >/dev/null || die "not running (start it with: $0 start)"
  wait_ready
}

# start and stop hold a lock on the run dir so two callers (two test files, say) cannot both
# decide that nothing runs and start two brokers on the same files.
with_lock() {
  mkdir -p "$RUN_DIR"
  exec 9>"$RUN_DIR/.lock"
  flock -w $((START_TIMEOUT + STOP_TIMEOUT + 600)) 9 || die "could not lock $RUN_DIR/.lock"
  "$@"
}

case "${1:-}" in
  start) with_lock cmd_start ;;
  stop) with_lock cmd_stop ;;
  status) cmd_status ;;
  wait) cmd_wait ;;
  *)
    echo "usage: $0 start|stop|status|wait" >&2
    exit 2
    ;;
esac
