#!/usr/bin/env bash
# One sampled `loupe caption` run (sampled_caption.sh) and its row of the A/B tables of caption_ab.sh and jvm_ab.sh:
# the load average before and after, the summary's window and whole-run images/s, the start-up, the command's wall
# time and time to the first read, CPU seconds per image within the window by part (JIT compilers split into C1 and
# C2), the model's mean batch time and the JVM's peak RSS. `caption_row.sh --header` prints the table's header.
#
#   docs/bench/caption_row.sh NAME LAUNCHER JAVA_OPTS LOUPE_CACHE RUN_DIR PACKAGE IMAGES_DIR [extra caption options...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ "${1:-}" = --header ]; then
  printf '| run | load (start, end) | window images/s | whole run images/s | start-up s | launch to first read s | CPU s to first read | wall s | CPU s/image | model | task thread | JIT C1 | JIT C2 | GC | Flink runtime | model batch ms | peak RSS MB |\n'
  printf '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n'
  exit 0
fi
side=$1 launcher=$2 opts=$3 cache=$4 d=$5 pkg=$6 images=$7
shift 7
load() { cut -d' ' -f1 /proc/loadavg; }
rm -rf "$d" && mkdir -p "$d"
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
      f"{r['c2_cpu_s_per_image']:.4f} | {g('GC')} | {g('Flink runtime')} | {r.get('model_batch_ms', 0):.0f} | "
      f"{r.get('peak_rss_mb', 0)} |")
PY
