#!/usr/bin/env bash
# Pillow resampling, vector passes against scalar ones (docs/benchmarks.md, "Pillow resampling with SIMD, session 10"):
# one build, the JVM flag -Dloupe.resample.simd=false as the only difference, alternating, PAIRS pairs. Per run:
# PreprocessCpu.java (the caption job's call: BlipImageProcessor.preprocess with a 192-pixel thumbnail over every JPEG
# of IMAGES after 2 warm-up passes: thread and process CPU ms/image and a checksum of every tensor value and thumbnail
# byte, which must be equal on both sides), then with BENCH=1 `loupe bench preprocess --sizes SIZES`' exact
# libjpeg-turbo rows. Prints the load average with each line.
# Usage: docs/bench/resample_simd_pairs.sh [PAIRS]   (env: ROOT (the build, default this worktree), IMAGES,
#        CHECKPOINT, PASSES, BENCH, SIZES)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
root="${ROOT:-$here}" pairs="${1:-2}"
: "${IMAGES:=/tmp/cap640}" "${CHECKPOINT:=/tmp/bm/checkpoint}" "${PASSES:=3}" "${SIZES:=640x480,4000x3000}"
run_one() { # label extra-jvm-flag
  local cpu
  cpu=$(java -XX:+UseSerialGC --add-modules jdk.incubator.vector $2 -cp "$root/jobs/target/lib/*" \
    "$here/docs/bench/PreprocessCpu.java" "$CHECKPOINT" "$IMAGES" 2 "$PASSES" 192 2>/dev/null | grep '^images=')
  echo "$1 caption-call $cpu load=$(cut -d' ' -f1-3 /proc/loadavg)"
  if [ "${BENCH:-0}" = 1 ]; then
    LOUPE_JAVA_OPTS="$2" LOUPE_CACHE="${LOUPE_CACHE:-/tmp/cache-simd}" "$root/bin/loupe" bench preprocess \
      --sizes "$SIZES" --warmup 100 --iterations 50 2>/dev/null \
      | grep -E 'jpeg .*libjpeg-turbo \| exact' | sed "s/^/$1 bench-preprocess /"
    echo "$1 load=$(cut -d' ' -f1-3 /proc/loadavg)"
  fi
}
for p in $(seq 1 "$pairs"); do
  if [ $((p % 2)) = 1 ]; then
    run_one "pair$p scalar" -Dloupe.resample.simd=false; run_one "pair$p vector" ""
  else
    run_one "pair$p vector" ""; run_one "pair$p scalar" -Dloupe.resample.simd=false
  fi
done
