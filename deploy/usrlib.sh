#!/usr/bin/env bash
# Collects the streaming job's jar and the dependencies a Flink 2.2 distribution does not already provide
# into one folder (default deploy/target/usrlib), ready for /opt/flink/usrlib (application mode) or for
# `flink run -C` (standalone). Run after `mvn -B package -DskipTests`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/deploy/target/usrlib}"
jar="$root/jobs/target/loupe-jobs-0.1.0-SNAPSHOT.jar"
[ -f "$jar" ] || { echo "usrlib.sh: $jar not found: run 'mvn -B package -DskipTests' first" >&2; exit 1; }
rm -rf "$out" && mkdir -p "$out"
cp "$jar" "$out/"
for dep in "$root"/jobs/target/lib/*.jar; do
  name="$(basename "$dep")"
  case "$name" in
    flink-connector-kafka-*|flink-connector-base-*|flink-avro-*) cp "$dep" "$out/" ;;  # not in the distribution
    flink-*|log4j-*|slf4j-api-*) ;;                                                   # the distribution's lib/ has them
    *) cp "$dep" "$out/" ;;
  esac
done
echo "$out"
