#!/usr/bin/env bash
# `loupe bench` then `loupe bench soak` at the bench's work on the same package, repeated: each pair's throughput
# ratio, the load average, the CPU seconds per item of both, and the soak's per part of its process (and of the
# broker's process, when it runs apart) within the soak's measured window (first request written -> last outcome
# read: the "soak: window" line of its stderr). Run from the repository root after building (README). Beside the
# window's throughput (issue 13's figure) the soak's steady rate: its middle 80 % of results by the time the job wrote
# them, without the pipeline's latency at the window's two ends.
#
#   docs/bench/soak_pairs.sh PACKAGE PAIRS OUT_DIR [extra soak options...]
#   docs/bench/soak_pairs.sh /tmp/bm5/fp32 3 /tmp/soak-pairs
#
# Settings of issue 13: 640 requests, batch 16, 20 new tokens with min = max, 640x480 JPEGs, every request its own
# image, 2 ONNX Runtime threads. LOUPE_JAVA_OPTS applies to both commands. Each pair's files stay in OUT_DIR/pair-N.
# LOUPE_BIN runs another build's launcher (e.g. /work/main/bin/loupe) with this script's CPU accounting.
# Before the first pair, a tiny bench and a tiny soak (32 requests, 2 tokens; WARMUP=0 skips them) make sure the
# launcher has its class-data archives for both commands: after a build, a command's first run has none, writes it,
# and would put the first pair on another footing than the rest.
set -euo pipefail
pkg=$1 pairs=$2 out=$3
shift 3
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
requests=${SOAK_REQUESTS:-640}
loupe=${LOUPE_BIN:-$root/bin/loupe}
load() { cut -d' ' -f1 /proc/loadavg; }
mkdir -p "$out"
if [ "${WARMUP:-1}" = 1 ]; then
  "$loupe" bench --model "$pkg" --batch-sizes 1 --iterations 1 --max-new-tokens 2 > "$out/warmup-bench.log" 2>&1 || true
  "$loupe" bench soak --model "$pkg" --requests 32 --bad-fraction 0 --max-new-tokens 2 --batch-size 16 --threads 2 \
      > "$out/warmup-soak.log" 2>&1 || true
fi
printf '| pair | load (bench, soak start, end) | bench images/s | bench CPU s/image | soak requests/s | soak CPU s/request | ratio | soak parts, CPU s/request |\n'
printf '| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |\n'
for n in $(seq 1 "$pairs"); do
  d="$out/pair-$n"
  rm -rf "$d" && mkdir -p "$d"
  l0=$(load)
  if [ "${SKIP_BENCH:-0}" = 1 ]; then echo '{"results":[{"images_per_second":0,"cpu_seconds_per_image":0}]}' > "$d/bench.json"; else
  "$loupe" bench --model "$pkg" --batch-sizes 16 --max-new-tokens 20 --threads 2 --iterations 3 --json \
      > "$d/bench.json" 2> "$d/bench.err"; fi
  read -r bips bcpu < <(python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results'][0]; \
print(r['images_per_second'], r['cpu_seconds_per_image'])" "$d/bench.json")
  l1=$(load)
  "$loupe" bench soak --model "$pkg" --requests "$requests" --bad-fraction 0 --min-new-tokens 20 \
      --max-new-tokens 20 --batch-size 16 --image-size 640x480 --threads 2 --tasks caption \
      --distinct-images "$requests" --json "$@" > "$d/soak.json" \
      2> >(while IFS= read -r l; do printf '%s %s\n' "$(date +%s.%N)" "$l"; done > "$d/soak.err") &
  launcher=$!
  # the JVM: the launcher itself once it execs java, or its java child (the run that writes a class-data archive);
  # under load the launcher may take seconds to get there
  jvm=""
  for _ in $(seq 1 120); do
    sleep 0.25
    if [ "$(cat /proc/"$launcher"/comm 2>/dev/null)" = java ]; then jvm=$launcher; break; fi
    jvm=$(pgrep -P "$launcher" -x java || true)
    [ -n "$jvm" ] && break
  done
  jvm=${jvm:-$launcher}
  python3 "$here/thread_cpu.py" "$jvm" --jcmd --series "$d/series.jsonl" > "$d/threads.json" 2>&1 &
  sampler=$!
  # a broker in its own process (--broker process, a child of the soak's JVM): sample it too once it runs
  (for _ in $(seq 1 600); do b=$(pgrep -P "$jvm" -f "dev.loupe.embedded.BrokerMain" | head -1 || true); \
     if [ -n "$b" ]; then exec python3 "$here/thread_cpu.py" "$b" --jcmd --series "$d/broker-series.jsonl" \
       > "$d/broker-threads.json" 2>&1; fi; kill -0 "$launcher" 2>/dev/null || exit 0; sleep 0.5; done) &
  wait "$launcher" || true
  wait "$sampler" || true
  wait || true
  l2=$(load)
  python3 - "$here/cpu_window.py" "$d" "$bips" "$bcpu" "$n" "$l0, $l1, $l2" <<'PY'
import json, os, re, subprocess, sys
window, d, bips, bcpu, n, loads = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
try:
    r = json.load(open(d + "/soak.json"))
except ValueError:
    print(f"| {n} | {loads} | {bips:.2f} | {bcpu:.4f} | (no report: see {d}) | | | |")
    sys.exit()
start = end = None
for line in open(d + "/soak.err"):
    m = re.search(r"window ([0-9.]+) ([0-9.]+)", line)
    if m:
        start, end = float(m.group(1)), float(m.group(2))
done = r["results"] + r["dead_letters"]
def parts(series, prefix):
    if not os.path.exists(series):
        return "", 0.0
    lines = subprocess.run([sys.executable, window, series, str(start), str(end), str(done), "--parts"],
                           capture_output=True, text=True).stdout.splitlines()
    total = float(re.search(r"([0-9.]+) s/item", lines[0]).group(1))
    ps = ", ".join(f"{prefix}{m.group(1)} {m.group(2)}" for m in
                   (re.match(r"\s+(.*?)\s+[0-9.-]+ s\s+([0-9.-]+) s/item", l) for l in lines[1:])
                   if m and float(m.group(2)) >= 0.0005)
    return ps, total
job, total = parts(d + "/series.jsonl", "")
broker, btotal = parts(d + "/broker-series.jsonl", "broker process: ")
rps = r["requests_per_second"]
steady = r.get("steady_results_per_second", 0)
ok = "" if r["ok"] else " NOT OK"
cpu = f"{total:.4f}" + (f" + broker process {btotal:.4f}" if btotal else "")
print(f"| {n} | {loads} | {bips:.2f} | {bcpu:.4f} | {rps:.2f}{ok} (steady {steady:.2f}, mean batch "
      f"{r['mean_batch_size']:.2f}) | {cpu} | {rps / bips if bips else 0:.2f}x (steady {steady / bips if bips else 0:.2f}x) | "
      f"{job}{'; ' + broker if broker else ''} |")
PY
done
