#!/usr/bin/env bash
# Preprocessing CPU A/B (docs/benchmarks.md, "Preprocessing CPU, session 9"): this build against a baseline build,
# alternating, PAIRS pairs. Per run: PreprocessCpu.java (the caption job's call, BlipImageProcessor.preprocess with a
# 192-pixel thumbnail into a reused tensor buffer, over every JPEG of IMAGES after 2 warm-up passes: thread and process
# CPU ms/image, heap KB/image, GCs, and a checksum of every output value, which must be equal across builds), then,
# with BENCH=1, `loupe bench preprocess --sizes 640x480`'s exact libjpeg-turbo rows. Prints the load average.
# Usage: docs/bench/preprocess_pairs.sh [BASELINE_ROOT] [PAIRS]   (env: IMAGES, CHECKPOINT, PASSES, BENCH)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
base="${1:-/work/wt-prev}" pairs="${2:-3}"
: "${IMAGES:=/tmp/cap640}" "${CHECKPOINT:=/tmp/bm/checkpoint}" "${PASSES:=3}"
run_one() { # root label
  local cpu
  cpu=$(java -XX:+UseSerialGC -cp "$1/jobs/target/lib/*" "$here/docs/bench/PreprocessCpu.java" "$CHECKPOINT" "$IMAGES" \
    2 "$PASSES" 192 2>/dev/null | grep '^images=')
  echo "$2 caption-call $cpu load=$(cut -d' ' -f1-3 /proc/loadavg)"
  if [ "${BENCH:-0}" = 1 ]; then
    "$1/bin/loupe" bench preprocess --sizes 640x480 --warmup 200 --iterations 100 2>/dev/null \
      | grep -E 'jpeg 640x480 .*libjpeg-turbo \| exact' | sed "s/^/$2 bench-preprocess /"
  fi
}
for p in $(seq 1 "$pairs"); do
  if [ $((p % 2)) = 1 ]; then
    run_one "$base" "pair$p baseline"; run_one "$here" "pair$p this"
  else
    run_one "$here" "pair$p this"; run_one "$base" "pair$p baseline"
  fi
done
