#!/usr/bin/env bash
# A real standalone Flink 2.2 cluster and Kafka broker on this machine, as separate processes: a JobManager
# (StandaloneSessionClusterEntrypoint), a TaskManager (TaskManagerRunner) and a KRaft Kafka broker
# (kafka.Kafka), each its own JVM, with classpaths from the jars `mvn package` puts under dist/target/cluster
# (nothing is downloaded at run time). Used by the end-to-end test (dist: StandaloneClusterIT); handy by hand:
#
#   mvn -B package -DskipTests
#   deploy/standalone/local-cluster.sh up             # prints KAFKA=127.0.0.1:PORT and REST=http://127.0.0.1:PORT
#   deploy/standalone/local-cluster.sh submit --model DIR [loupe run options]   # flink run the job jar
#   deploy/standalone/local-cluster.sh down           # stops every process `up` started
#   deploy/standalone/local-cluster.sh e2e            # up, one caption through the job, down
#
# Everything lives in LOUPE_CLUSTER_DIR (default dist/target/local-cluster): conf/ (generated Flink and Kafka
# configs), logs/ (one log per process: look here when a step fails), pids, env (the addresses), data/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="${LOUPE_CLUSTER_DIR:-$root/dist/target/local-cluster}"
libs="${LOUPE_CLUSTER_LIBS:-$root/dist/target/cluster}"
job_jar="${LOUPE_JOB_JAR:-$root/dist/target/loupe-job.jar}"
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
startup_timeout="${LOUPE_CLUSTER_STARTUP_TIMEOUT:-180}"   # seconds per process
# JVM flags for every process: small, quick-starting JVMs for a development cluster (C1 only: less JIT work)
jvm_opts="${LOUPE_CLUSTER_JVM_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1}"
# Avro 1.12 deserializes only trusted packages; Loupe's records travel inside Flink. The Vector API module is for the
# vector resampling passes, which need C2: with the default C1-only flags above the scalar ones run (the same bytes).
# The same line is env.java.opts.all in the generated config.yaml, deploy/flink-conf/config.yaml and the Kubernetes
# manifest.
java_opts="-Dorg.apache.avro.SERIALIZABLE_PACKAGES=dev.loupe --add-modules jdk.incubator.vector"
# plugins/ as in a Flink distribution: the Prometheus metrics reporter
export FLINK_PLUGINS_DIR="$libs/plugins"

conf="$dir/conf"
logs="$dir/logs"

log() { echo "local-cluster: $*" >&2; }
die() { log "$*"; exit 1; }

# A free TCP port on 127.0.0.1 (nothing answers on it now).
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

alive() { kill -0 "$1" 2>/dev/null; }

# Starts a JVM in the background, its stdout/stderr in logs/NAME.out, and records its pid.
start_jvm() {
  local name="$1"; shift
  "$java" "$@" >"$logs/$name.out" 2>&1 </dev/null &
  local pid=$!
  echo "$name $pid" >>"$dir/pids"
  log "$name started (pid $pid, log $logs/$name.*)"
}

pid_of() { awk -v n="$1" '$1 == n {print $2}' "$dir/pids"; }

# wait_for NAME DESCRIPTION COMMAND...: until COMMAND succeeds, the process NAME dies, or the timeout.
wait_for() {
  local name="$1" what="$2"; shift 2
  local pid deadline=$((SECONDS + startup_timeout))
  pid="$(pid_of "$name")"
  until "$@"; do
    alive "$pid" || { tail -n 30 "$logs/$name".* >&2 || true; die "$name exited before $what"; }
    [ "$SECONDS" -lt "$deadline" ] || { tail -n 30 "$logs/$name".* >&2 || true; die "timed out waiting for $what"; }
    sleep 0.5
  done
  log "$what"
}

# GET http://127.0.0.1:PORT/PATH with bash alone (no curl needed); prints the body, fails unless 200 OK
http_get() {
  local response
  response="$(exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3 && cat <&3)" \
    2>/dev/null || return 1
  case "$response" in "HTTP/1."?" 200"*) printf '%s\n' "${response#*$'\r\n\r\n'}" ;; *) return 1 ;; esac
}
rest_ok() { http_get "$REST_PORT" /overview >/dev/null; }
taskmanager_registered() { http_get "$REST_PORT" /overview | grep -q '"taskmanagers":[1-9]'; }

write_configs() {
  mkdir -p "$conf" "$logs" "$dir/data/kafka" "$dir/data/checkpoints" "$dir/data/savepoints" "$dir/data/tmp"
  # Flink's config.yaml (Flink 2 reads config.yaml): the same keys as deploy/flink-conf/config.yaml, local paths
  cat >"$conf/config.yaml" <<EOF
jobmanager:
  rpc: {address: 127.0.0.1, port: $JM_RPC_PORT}
  bind-host: 127.0.0.1
  memory: {process.size: 1024m}
taskmanager:
  host: 127.0.0.1
  bind-host: 127.0.0.1
  rpc.port: "0"
  numberOfTaskSlots: 2
  memory:
    process.size: 1100m
    managed.size: 0m
    network: {min: 32m, max: 32m}
rest:
  address: 127.0.0.1
  bind-address: 127.0.0.1
  port: $REST_PORT
blob.server.port: "0"
io.tmp.dirs: $dir/data/tmp
execution:
  checkpointing:
    dir: file://$dir/data/checkpoints
    savepoint-dir: file://$dir/data/savepoints
    externalized-checkpoint-retention: RETAIN_ON_CANCELLATION
    num-retained: 1
metrics:
  reporter:
    prom:
      factory.class: org.apache.flink.metrics.prometheus.PrometheusReporterFactory
      port: $PROM_PORTS
env:
  java:
    opts:
      all: $java_opts
EOF
  # the module flags a Flink distribution's config.yaml sets as env.java.default-opts.all (Java 17), plus the
  # Avro property; a JVM argument file keeps the command lines short
  {
    for m in java.base/sun.net.util java.rmi/sun.rmi.registry jdk.compiler/com.sun.tools.javac.api \
        jdk.compiler/com.sun.tools.javac.file jdk.compiler/com.sun.tools.javac.parser \
        jdk.compiler/com.sun.tools.javac.tree jdk.compiler/com.sun.tools.javac.util java.security.jgss/sun.security.krb5; do
      echo "--add-exports=$m=ALL-UNNAMED"
    done
    for p in java.lang java.net java.io java.nio sun.nio.ch java.lang.reflect java.text java.time java.util \
        java.util.concurrent java.util.concurrent.atomic java.util.concurrent.locks; do
      echo "--add-opens=java.base/$p=ALL-UNNAMED"
    done
    echo "$java_opts"
  } >"$conf/flink-jvm.args"
  cat >"$conf/log4j.properties" <<'EOF'
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = MainAppender
appender.main.name = MainAppender
appender.main.type = File
appender.main.fileName = ${sys:log.file}
appender.main.layout.type = PatternLayout
appender.main.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
logger.kafka.name = org.apache.kafka
logger.kafka.level = WARN
logger.djl.name = ai.djl
logger.djl.level = ERROR
EOF
  # the client prints the job id on stdout; its log goes to the file
  cp "$conf/log4j.properties" "$conf/log4j-cli.properties"
  cat >"$conf/kafka.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data/kafka
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=${LOUPE_KAFKA_AUTO_CREATE_TOPICS:-false}
num.network.threads=2
num.io.threads=2
background.threads=2
log.cleaner.enable=false
EOF
  cat >"$conf/kafka-log4j2.properties" <<'EOF'
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = File
appender.file.name = File
appender.file.type = File
appender.file.fileName = ${sys:log.file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
EOF
}

# Stops every process recorded in pids (TERM, then KILL after 20 s), newest first.
stop_all() {
  [ -f "$dir/pids" ] || return 0
  local name pid pids=()
  while read -r name pid; do pids=("$pid" "${pids[@]}"); done <"$dir/pids"
  for pid in "${pids[@]}"; do alive "$pid" && kill "$pid" 2>/dev/null || true; done
  local deadline=$((SECONDS + 20))
  for pid in "${pids[@]}"; do
    while alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
    if alive "$pid"; then log "pid $pid did not stop: killing it"; kill -9 "$pid" 2>/dev/null || true; fi
  done
  rm -f "$dir/pids"
  log "stopped"
}

# As Flink's jobmanager.sh / taskmanager.sh do: BashJavaUtils derives the JVM memory flags (jvm_params) and the
# resource settings (dynamic_params, -D key=value) from jobmanager/taskmanager.memory.process.size.
resource_params() {
  local params
  params="$("$java" -Xmx128m $jvm_opts -cp "$libs/flink-lib/*" -Dlog4j.configurationFile="file:$conf/log4j.properties" \
    -Dlog.file="$logs/bash-java-utils.log" org.apache.flink.runtime.util.bash.BashJavaUtils \
    "GET_$1_RESOURCE_PARAMS" --configDir "$conf" | grep '^BASH_JAVA_UTILS_EXEC_RESULT:' | sed 's/^BASH_JAVA_UTILS_EXEC_RESULT://')" \
    || die "BashJavaUtils failed (log: $logs/bash-java-utils.log)"
  jvm_params="$(echo "$params" | sed -n 1p)"
  dynamic_params="$(echo "$params" | sed -n 2p)"
  [ -n "$jvm_params" ] || die "BashJavaUtils printed no $1 memory settings"
}


cmd_up() {
  [ -d "$libs/flink-lib" ] && [ -d "$libs/kafka-lib" ] && [ -d "$libs/plugins" ] || die "$libs not found: run 'mvn -B package -DskipTests' first"
  [ ! -s "$dir/pids" ] || die "a cluster from $dir may still run (pids file present): run '$0 down' first"
  rm -rf "$dir" && mkdir -p "$dir"
  # a failed start-up leaves nothing running
  trap 'status=$?; if [ $status -ne 0 ]; then log "start-up failed (logs in $logs)"; stop_all; fi' EXIT
  KAFKA_PORT="$(free_port)"; KAFKA_CONTROLLER_PORT="$(free_port)"
  JM_RPC_PORT="$(free_port)"; REST_PORT="$(free_port)"
  local prom_base; prom_base="$(free_port)"; PROM_PORTS="$prom_base-$((prom_base + 9))"
  write_configs
  cat >"$dir/env" <<EOF
KAFKA=127.0.0.1:$KAFKA_PORT
REST=http://127.0.0.1:$REST_PORT
REST_PORT=$REST_PORT
PROMETHEUS_PORTS=$PROM_PORTS
EOF

  # Kafka's cluster id: 16 random bytes in URL-safe base64. One that starts with '-' (1 in 64) would be read as an
  # option by the storage tool ("--cluster-id: expected one argument"), so draw again.
  local cluster_id="-"
  while [ "${cluster_id#-}" != "$cluster_id" ]; do
    cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  done
  "$java" -Xmx256m $jvm_opts -cp "$libs/kafka-lib/*" -Dlog4j2.configurationFile="$conf/kafka-log4j2.properties" \
    -Dlog.file="$logs/kafka-format.log" kafka.tools.StorageTool format --config "$conf/kafka.properties" \
    --cluster-id "$cluster_id" >"$logs/kafka-format.out" 2>&1 || { cat "$logs/kafka-format.out" >&2; die "formatting Kafka's storage failed"; }
  start_jvm kafka -Xmx384m $jvm_opts -cp "$libs/kafka-lib/*" \
    -Dlog4j2.configurationFile="$conf/kafka-log4j2.properties" -Dlog.file="$logs/kafka.log" \
    kafka.Kafka "$conf/kafka.properties"
  local jvm_params dynamic_params
  resource_params JM
  # shellcheck disable=SC2086 # word splitting intended: flags and -D key=value pairs
  start_jvm jobmanager $jvm_params $jvm_opts "@$conf/flink-jvm.args" -cp "$libs/flink-lib/*" \
    -Dlog4j.configurationFile="file:$conf/log4j.properties" -Dlog.file="$logs/jobmanager.log" \
    org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint --configDir "$conf" $dynamic_params
  resource_params TM
  # shellcheck disable=SC2086 # word splitting intended: flags and -D key=value pairs
  start_jvm taskmanager $jvm_params $jvm_opts "@$conf/flink-jvm.args" -cp "$libs/flink-lib/*" \
    -Dlog4j.configurationFile="file:$conf/log4j.properties" -Dlog.file="$logs/taskmanager.log" \
    org.apache.flink.runtime.taskexecutor.TaskManagerRunner --configDir "$conf" $dynamic_params
  wait_for kafka "Kafka broker listening on 127.0.0.1:$KAFKA_PORT" port_open "$KAFKA_PORT"
  wait_for jobmanager "JobManager REST API up at http://127.0.0.1:$REST_PORT" rest_ok
  # the TaskManager registers once the JobManager is up (it retries until then)
  wait_for taskmanager "TaskManager registered" taskmanager_registered
  trap - EXIT
  cat "$dir/env"
}

load_env() {
  [ -f "$dir/env" ] && [ -s "$dir/pids" ] || die "no cluster running from $dir: run '$0 up' first"
  # shellcheck disable=SC1091
  . "$dir/env"
}

# flink run with Flink's own client (CliFrontend): the shaded job jar, detached; prints the job id.
cmd_submit() {
  load_env
  [ -f "$job_jar" ] || die "$job_jar not found: run 'mvn -B package -DskipTests' first"
  local out
  if ! out="$(FLINK_CONF_DIR="$conf" "$java" -Xmx384m $jvm_opts "@$conf/flink-jvm.args" -cp "$libs/flink-lib/*" \
      -Dlog4j.configurationFile="file:$conf/log4j-cli.properties" -Dlog.file="$logs/client.log" \
      org.apache.flink.client.cli.CliFrontend run --detached -c dev.loupe.jobs.streaming.StreamingAnnotationJob \
      "$job_jar" --bootstrap-servers "$KAFKA" "$@" 2>&1)"; then
    echo "$out" >&2
    die "submission failed (client log: $logs/client.log)"
  fi
  echo "$out" >"$logs/submit.out"
  local job_id
  job_id="$(echo "$out" | grep -o 'JobID [0-9a-f]\{32\}' | awk '{print $2}' | tail -n 1)"
  [ -n "$job_id" ] || { echo "$out" >&2; die "no job id in the client's output"; }
  echo "$job_id" >"$dir/job-id"
  echo "JOB_ID=$job_id"
}

cmd_status() {
  load_env
  cat "$dir/env"
  while read -r name pid; do
    if alive "$pid"; then echo "$name $pid running"; else echo "$name $pid exited"; fi
  done <"$dir/pids"
  http_get "$REST_PORT" /jobs/overview || true
}

cmd_down() { stop_all; }

# up; the fixture checkpoint converted to a package; one inline caption request through the job; down.
cmd_e2e() {
  local loupe="$root/bin/loupe"
  LOUPE_KAFKA_AUTO_CREATE_TOPICS=true cmd_up
  trap 'stop_all' EXIT
  load_env
  "$loupe" convert --checkpoint "$root/fixtures/hf-reference/instructblip-vicuna/checkpoint" --out "$dir/data/model" >/dev/null
  local image; image="$(ls "$root"/fixtures/hf-reference/images/*.png | head -n 1)"
  # the first send creates the topics the job reads and writes (auto-created here only)
  local id; id="$("$loupe" send --bootstrap-servers "$KAFKA" --image "$image" --inline)"
  cmd_submit --model "$dir/data/model" --checkpoint-interval 2s --parallelism 1
  # tail refuses until the job's first transaction has created the results topic: retry until then
  local deadline=$((SECONDS + 300))
  until "$loupe" tail --bootstrap-servers "$KAFKA" --max 1 --idle 300s >"$logs/e2e-results.jsonl" 2>"$logs/e2e-tail.err"; do
    [ "$SECONDS" -lt "$deadline" ] || die "no result within 300 s (logs in $logs)"
    sleep 2
  done
  cat "$logs/e2e-results.jsonl"
  grep -q "\"$id\"" "$logs/e2e-results.jsonl" || die "no result for request $id"
  log "e2e passed: request $id annotated on the standalone cluster"
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  submit) shift; cmd_submit "$@" ;;
  status) shift; cmd_status "$@" ;;
  down) shift; cmd_down "$@" ;;
  e2e) shift; cmd_e2e "$@" ;;
  *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
