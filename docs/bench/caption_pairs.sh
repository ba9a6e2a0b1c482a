#!/usr/bin/env bash
# `loupe bench` then `loupe caption` on the same package, repeated: each pair's throughput ratio, the load average,
# and the CPU seconds per image of both (caption's within its summary's window, first read -> last result, per part of
# the process from thread_cpu.py / cpu_window.py). Run from the repository root after building (README).
#
#   docs/bench/caption_pairs.sh PACKAGE IMAGES_DIR PAIRS OUT_DIR [extra caption options...]
#   docs/bench/caption_pairs.sh /tmp/bm5/fp32 /tmp/cap640 3 /tmp/pairs
#
# Settings of issue 13: batch 16, 20 new tokens with min = max, 2 ONNX Runtime threads. LOUPE_JAVA_OPTS applies to
# both commands. Each pair's files stay in OUT_DIR/pair-N (bench.json, caption's stdout/stderr, the CPU series).
# Before the first pair, a tiny bench and a tiny caption (16 images, 2 tokens; WARMUP=0 skips them) make sure
# bin/loupe has its class-data archives for both commands: after a build, a command's first run has none, writes it,
# and would put the first pair on another footing than the rest.
set -euo pipefail
pkg=$1 images=$2 pairs=$3 out=$4
shift 4
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
count=$(find "$images" -type f | wc -l)
load() { cut -d' ' -f1 /proc/loadavg; }
mkdir -p "$out"
if [ "${WARMUP:-1}" = 1 ]; then
  w="$out/warmup" && rm -rf "$w" && mkdir -p "$w/images"
  find "$images" -type f | sort | head -16 | while read -r f; do cp "$f" "$w/images/"; done
  "$root/bin/loupe" bench --model "$pkg" --batch-sizes 1 --iterations 1 --max-new-tokens 2 > "$w/bench.log" 2>&1 || true
  LOUPE_THREADS=2 "$root/bin/loupe" caption --model "$pkg" --input "$w/images" --output "$w/out" --batch-size 16 \
      --max-new-tokens 2 > "$w/caption.log" 2>&1 || true
fi
printf '| pair | load (bench, caption start, end) | bench images/s | bench CPU s/image | caption images/s | caption CPU s/image | ratio | caption parts, CPU s/image |\n'
printf '| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |\n'
for n in $(seq 1 "$pairs"); do
  d="$out/pair-$n"
  rm -rf "$d" && mkdir -p "$d"
  l0=$(load)
  "$root/bin/loupe" bench --model "$pkg" --batch-sizes 16 --max-new-tokens 20 --threads 2 --iterations 3 --json \
      > "$d/bench.json" 2> "$d/bench.err"
  read -r bips bcpu < <(python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results'][0]; \
print(r['images_per_second'], r['cpu_seconds_per_image'])" "$d/bench.json")
  l1=$(load)
  "$here/sampled_caption.sh" "$root/bin/loupe" "$d" "$pkg" "$images" "$@"
  l2=$(load)
  python3 - "$here/cpu_window.py" "$d" "$bips" "$bcpu" "$n" "$l0, $l1, $l2" <<'PY'
import json, re, subprocess, sys
window, d, bips, bcpu, n, loads = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
text = open(d + "/caption.out").read()
m = re.search(r"throughput: ([0-9.]+) images/s from the first read to the last result \((\d+) in this run, ([0-9.]+) s\)", text)
if not m:
    print(f"| {n} | {loads} | {bips:.2f} | {bcpu:.4f} | (no summary: see {d}) | | | |")
    sys.exit()
ips, done, span = float(m.group(1)), int(m.group(2)), float(m.group(3))
samples = [s for s in (json.loads(l) for l in open(d + "/series.jsonl") if l.strip()) if "t" in s]
inference = lambda s: sum(v for k, v in s["groups"].items() if k.startswith("loupe-inference"))
last = inference(samples[-1])
# the window ends where the inference thread last used CPU and spans the summary's first read -> last result
end = next(s["t"] for s in samples if inference(s) >= last - 0.01)
lines = subprocess.run([sys.executable, window, d + "/series.jsonl", str(end - span), str(end), str(done), "--parts"],
                       capture_output=True, text=True).stdout.splitlines()
total = re.search(r"([0-9.]+) s/item", lines[0]).group(1)
parts = ", ".join(f"{m.group(1)} {m.group(2)}" for m in
                  (re.match(r"\s+(.*?)\s+[0-9.]+ s\s+([0-9.]+) s/item", l) for l in lines[1:])
                  if m and float(m.group(2)) >= 0.0005)
print(f"| {n} | {loads} | {bips:.2f} | {bcpu:.4f} | {ips:.2f} | {total} | {ips / bips:.2f}x | {parts} |")
PY
done
