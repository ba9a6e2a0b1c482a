#!/usr/bin/env bash
# `loupe caption` with launcher A and launcher B, alternating (A B, then B A, ...), on the same package and images:
# per run the summary's window and whole-run images/s, the start-up, the command's wall time and time to the first
# read, and CPU seconds per image within the window by part of the process (JIT compilers split into C1 and C2), the
# model's mean batch time (the summary's "inference ... (its batch's)") and the JVM's peak RSS,
# with the load average before and after each run. A launcher is a bin/loupe path; JAVA_OPTS_A / JAVA_OPTS_B (env)
# are that side's LOUPE_JAVA_OPTS, CACHE_A / CACHE_B (env) that side's LOUPE_CACHE (a class-data archive folder of its
# own: launchers of different builds sharing one would delete each other's archive at every run). Run after building
# both (README).
#
#   docs/bench/caption_ab.sh PACKAGE IMAGES_DIR ROUNDS OUT_DIR LAUNCHER_A LAUNCHER_B [extra caption options...]
#   docs/bench/caption_ab.sh /tmp/bm7/fp32 /tmp/cap640 3 /tmp/ab /work/main/bin/loupe bin/loupe
#
# Settings of issue 13: batch 16, 20 new tokens with min = max, 2 ONNX Runtime threads. Each run's files stay in
# OUT_DIR/<round>-<A|B> (stdout, stderr, the CPU series, run.json); the table goes to stdout.
set -euo pipefail
pkg=$1 images=$2 rounds=$3 out=$4 launcher_a=$5 launcher_b=$6
shift 6
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$out"
"$here/caption_row.sh" --header
for n in $(seq 1 "$rounds"); do
  if [ $((n % 2)) = 1 ]; then order="A B"; else order="B A"; fi
  for side in $order; do
    if [ "$side" = A ]; then
      "$here/caption_row.sh" "A$n" "$launcher_a" "${JAVA_OPTS_A:-}" "${CACHE_A:-${LOUPE_CACHE:-$HOME/.cache/loupe}}" \
          "$out/$n-A" "$pkg" "$images" "$@"
    else
      "$here/caption_row.sh" "B$n" "$launcher_b" "${JAVA_OPTS_B:-}" "${CACHE_B:-${LOUPE_CACHE:-$HOME/.cache/loupe}}" \
          "$out/$n-B" "$pkg" "$images" "$@"
    fi
  done
done
