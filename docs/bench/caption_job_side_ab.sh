#!/usr/bin/env bash
# Issue 13, session 9: `loupe caption`'s CPU outside the model, this build against a baseline launcher, alternating
# (caption_ab.sh: A = baseline, B = this build; A B, then B A, ...), then per side the mean CPU seconds per image
# within the summary's window: the process, the model (inference thread + ONNX Runtime pool), everything outside the
# model, and each part (cpu_window.py --parts; the fetch pool falls under "other"). With JFR=1, one more run per side
# with a JFR recording (settings=profile) gives the heap allocated per image (jfr_sites.py; its CPU is not quoted).
#
#   docs/bench/caption_job_side_ab.sh PACKAGE IMAGES_DIR ROUNDS OUT_DIR [BASELINE_LAUNCHER]
#   docs/bench/caption_job_side_ab.sh /tmp/bm/fp32 /tmp/cap640 2 /tmp/s9cap-ab /work/wt-prev/bin/loupe
#
# Each side keeps its class-data archive in a cache folder of its own (OUT_DIR/cache-A, cache-B: bin/loupe keeps one
# archive per command and deletes the other builds', so two builds alternating in one cache would dump a new archive
# in every run); one unmeasured caption run per side writes it first (both at once; WARM=0 skips them).
set -euo pipefail
pkg=$1 images=$2 rounds=$3 out=$4 baseline=${5:-/work/wt-prev/bin/loupe}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
mkdir -p "$out"
for side in A B; do
  launcher=$baseline; [ "$side" = B ] && launcher="$root/bin/loupe"
  printf '#!/bin/sh\nLOUPE_CACHE=%s exec %s "$@"\n' "$out/cache-$side" "$launcher" > "$out/loupe-$side"
  chmod +x "$out/loupe-$side"
done
if [ "${WARM:-1}" = 1 ]; then
  for side in A B; do
    LOUPE_THREADS=2 "$out/loupe-$side" caption --model "$pkg" --input "$images" --output "$out/warm-$side" \
        --batch-size 16 --max-new-tokens 20 --min-new-tokens 20 -D loupe.runtime.threads=2 > "$out/warm-$side.log" 2>&1 &
  done
  wait
fi
echo "load at start: $(cat /proc/loadavg)"
"$here/caption_ab.sh" "$pkg" "$images" "$rounds" "$out" "$out/loupe-A" "$out/loupe-B" | tee "$out/table.md"
echo "load at end: $(cat /proc/loadavg)"
python3 - "$out" "$rounds" <<'PY'
import json, os, sys
out, rounds = sys.argv[1], int(sys.argv[2])
for side, name in (("A", "baseline"), ("B", "this build")):
    runs = [json.load(open(os.path.join(out, f"{n}-{side}", "run.json"))) for n in range(1, rounds + 1)]
    runs = [r for r in runs if "error" not in r]
    if not runs:
        print(f"{name}: no complete run"); continue
    mean = lambda f: sum(f(r) for r in runs) / len(runs)
    parts = sorted({k for r in runs for k in r["parts_cpu_s_per_image"]})
    model = mean(lambda r: r["parts_cpu_s_per_image"].get("model", 0))
    total = mean(lambda r: r["process_cpu_s_per_image"])
    each = ", ".join(f"{r['process_cpu_s_per_image'] - r['parts_cpu_s_per_image'].get('model', 0):.4f}" for r in runs)
    print(f"{name} ({len(runs)} runs): process {total:.4f}, model {model:.4f}, outside the model {total - model:.4f} "
          f"CPU s/image (runs: {each}); window {mean(lambda r: r['window_images_per_second']):.2f} images/s")
    print("   " + ", ".join(f"{k} {mean(lambda r: r['parts_cpu_s_per_image'].get(k, 0)):.4f}" for k in parts))
PY
if [ "${JFR:-0}" = 1 ]; then
  for side in A B; do
    launcher="$out/loupe-$side"
    d="$out/jfr-$side"; rm -rf "$d" && mkdir -p "$d"
    LOUPE_JAVA_OPTS="-XX:StartFlightRecording=filename=$d/rec.jfr,settings=profile" \
        "$here/sampled_caption.sh" "$launcher" "$d" "$pkg" "$images"
    sleep 2
    echo "== JFR allocation, $side ($launcher)"
    python3 "$here/jfr_sites.py" "$d/rec.jfr" --items "$(find "$images" -type f | wc -l)" --top 12 | sed -n '/^allocation/,$p'
  done
fi
