#!/usr/bin/env bash
# Submits the streaming job to a running standalone Flink 2.2 cluster (FLINK_HOME set, Kafka reachable from
# every TaskManager, the model folder present at the same path on every TaskManager host).
#   deploy/standalone/submit.sh --bootstrap-servers kafka:9092 --model /models/instructblip --allowed-root /data/images
# Any `loupe run` option can follow; the job's options are listed by `bin/loupe run --help`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
: "${FLINK_HOME:?set FLINK_HOME to the Flink 2.2 installation}"
usrlib="$("$root/deploy/usrlib.sh")"
# -C adds each dependency to the user class path; the URLs must be readable from every node (shared path)
classpath=()
for jar in "$usrlib"/*.jar; do
  case "$(basename "$jar")" in loupe-jobs-*) ;; *) classpath+=(-C "file://$jar") ;; esac
done
exec "$FLINK_HOME/bin/flink" run --detached "${classpath[@]}" \
  -c dev.loupe.jobs.StreamingAnnotationJob "$usrlib"/loupe-jobs-0.1.0-SNAPSHOT.jar "$@"
