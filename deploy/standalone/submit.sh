#!/usr/bin/env bash
# Submits the streaming job to a running standalone Flink 2.2 cluster (FLINK_HOME set, Kafka reachable from
# every TaskManager, the model folder present at the same path on every TaskManager host, the cluster's
# config.yaml merged with deploy/flink-conf/config.yaml):
#   deploy/standalone/submit.sh --bootstrap-servers kafka:9092 --model /models/instructblip --allowed-root /data/images
# Any `loupe run` option can follow (`bin/loupe run --help`). The job jar is the shaded dist/target/loupe-job.jar
# built by `mvn -B package -DskipTests`; the client uploads it, so it needs to exist only here.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
: "${FLINK_HOME:?set FLINK_HOME to the Flink 2.2 installation}"
jar="${LOUPE_JOB_JAR:-$root/dist/target/loupe-job.jar}"
[ -f "$jar" ] || { echo "submit.sh: $jar not found: run 'mvn -B package -DskipTests' first" >&2; exit 1; }
exec "$FLINK_HOME/bin/flink" run --detached -c dev.loupe.jobs.streaming.StreamingAnnotationJob "$jar" "$@"
