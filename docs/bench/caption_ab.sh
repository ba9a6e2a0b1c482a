#!/usr/bin/env bash
# `loupe caption` with launcher A and launcher B, alternating (A B, then B A, ...), on the same package and images:
# per run the summary's window and whole-run images/s, the start-up, the command's wall time and time to the first
# read, and CPU seconds per image within the window by part of the process (JIT compilers split into C1 and C2),
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
load() { cut -d' ' -f1 /proc/loadavg; }
mkdir -p "$out"
printf '| run | load (start, end) | window images/s | whole run images/s | start-up s | launch to first read s | CPU s to first read | wall s | CPU s/image | model | task thread | JIT C1 | JIT C2 | GC | Flink runtime |\n'
printf '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n'
one() { # side launcher java-opts run-dir
  local side=$1 launcher=$2 opts=$3 cache=$4 d=$5
  shift 5
  rm -rf "$d" && mkdir -p "$d"
  local l0
  l0=$(load)
  LOUPE_CACHE="$cache" LOUPE_JAVA_OPTS="$opts" "$here/sampled_caption.sh" "$launcher" "$d" "$pkg" "$images" "$@"
  # shellcheck disable=SC2046
  python3 "$here/caption_window.py" "$d" $(cat "$d/launch.txt") > "$d/run.json"
  python3 - "$d/run.json" "$side" "$l0, $(load)" <<'PY'
import json, sys
r, side, loads = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
if "error" in r:
    print(f"| {side} | {loads} | {r['error']} |"); sys.exit()
p = r["parts_cpu_s_per_image"]
g = lambda k: f"{p.get(k, 0):.4f}"
print(f"| {side} | {loads} | {r['window_images_per_second']:.2f} | {r['whole_run_images_per_second']:.2f} | "
      f"{r['start_up_s']:.1f} | {r['launch_to_first_read_s']:.1f} | {r['cpu_s_to_first_read']:.1f} | "
      f"{r['command_wall_s']:.1f} | "
      f"{r['process_cpu_s_per_image']:.4f} | {g('model')} | {g('task thread')} | {r['c1_cpu_s_per_image']:.4f} | "
      f"{r['c2_cpu_s_per_image']:.4f} | {g('GC')} | {g('Flink runtime')} |")
PY
}
for n in $(seq 1 "$rounds"); do
  if [ $((n % 2)) = 1 ]; then order="A B"; else order="B A"; fi
  for side in $order; do
    if [ "$side" = A ]; then
      one "A$n" "$launcher_a" "${JAVA_OPTS_A:-}" "${CACHE_A:-${LOUPE_CACHE:-$HOME/.cache/loupe}}" "$out/$n-A" "$@"
    else
      one "B$n" "$launcher_b" "${JAVA_OPTS_B:-}" "${CACHE_B:-${LOUPE_CACHE:-$HOME/.cache/loupe}}" "$out/$n-B" "$@"
    fi
  done
done
