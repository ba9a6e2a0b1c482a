#!/usr/bin/env bash
# JVM settings side by side (issue 13, session 9): `loupe caption` runs of several variants, each a launcher with
# LOUPE_JAVA_OPTS, in rotation (round n starts at variant n), so every variant runs at about the same load; per run
# one row of caption_row.sh (CPU s/image by part within the window: model, task thread, JIT C1 / C2, GC, Flink; the
# model's batch ms; peak RSS) and a second table of the collector's own log (-Xlog:gc,gc+cpu, whole run): young and
# full collections, their CPU seconds (user + sys) and the largest heap. Each launcher gets a class-data archive
# folder of its own under OUT_DIR (two builds sharing one delete each other's archive), written by a first run on
# 32 of the images before the rounds.
# With SOAK=1 each run is instead the streaming soak of soak_pairs.sh (640 requests, SKIP_BENCH: its row's CPU
# s/request by part within the soak's window; IMAGES_DIR unused), its archive written by a first soak of 32 requests.
#
#   docs/bench/jvm_ab.sh PACKAGE IMAGES_DIR ROUNDS OUT_DIR 'NAME|LAUNCHER|JAVA_OPTS' ...
#   docs/bench/jvm_ab.sh /tmp/bm/fp32 /tmp/cap640 2 /tmp/jvm-ab 'main|/work/wt-prev/bin/loupe|' 'this|bin/loupe|'
#
# Settings of issue 13: batch 16, 20 new tokens with min = max, 2 ONNX Runtime threads. Extra caption options come
# after `--` at the end. Each run's files stay in OUT_DIR/<round>-<NAME>; both tables go to stdout at the end and to
# OUT_DIR/table.md as the runs end.
set -euo pipefail
pkg=$1 images=$2 rounds=$3 out=$4
shift 4
variants=() extra=()
while [ $# -gt 0 ]; do
  if [ "$1" = -- ]; then shift; extra=("$@"); break; fi
  variants+=("$1"); shift
done
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$out/warm-images"
find "$images" -maxdepth 1 -type f | sort | sed -n 1,32p | while read -r f; do cp -n "$f" "$out/warm-images/"; done
cache_of() { echo "$out/cache-$(echo "$1" | cksum | cut -d' ' -f1)"; }
for v in "${variants[@]}"; do   # one archive-writing run per launcher, not measured
  IFS='|' read -r name launcher _ <<< "$v"
  cache=$(cache_of "$launcher")
  if [ "${SOAK:-0}" = 1 ]; then
    ls "$cache"/cds/bench-*.jsa > /dev/null 2>&1 || LOUPE_CACHE="$cache" LOUPE_BIN="$launcher" SKIP_BENCH=1 \
        SOAK_REQUESTS=32 "$here/soak_pairs.sh" "$pkg" 1 "$out/warm-$name" "${extra[@]}" > /dev/null
  elif ! ls "$cache"/cds/caption-*.jsa > /dev/null 2>&1; then
    LOUPE_CACHE="$cache" LOUPE_THREADS=2 "$launcher" caption --model "$pkg" --input "$out/warm-images" \
        --output "$out/warm-$name" --batch-size 16 --max-new-tokens 20 --min-new-tokens 20 \
        -D loupe.runtime.threads=2 > "$out/warm-$name.log" 2>&1
  fi
done
table="$out/table.md" gc="$out/gc.md"
if [ "${SOAK:-0}" = 1 ]; then
  SKIP_BENCH=1 SOAK_REQUESTS=0 "$here/soak_pairs.sh" "$pkg" 0 "$out/header" | head -2 > "$table"
else
  "$here/caption_row.sh" --header > "$table"
fi
printf '| run | young collections | young CPU s | full collections | full CPU s | largest heap MB |\n| --- | ---: | ---: | ---: | ---: | ---: |\n' > "$gc"
k=${#variants[@]}
for n in $(seq 1 "$rounds"); do
  for i in $(seq 0 $((k - 1))); do
    IFS='|' read -r name launcher opts <<< "${variants[$(( (i + n - 1) % k ))]}"
    d="$out/$n-$name"
    if [ "${SOAK:-0}" = 1 ]; then
      rm -rf "$d" && mkdir -p "$d"
      LOUPE_CACHE="$(cache_of "$launcher")" LOUPE_BIN="$launcher" LOUPE_JAVA_OPTS="$opts -Xlog:gc,gc+cpu:file=$d/gc.log" \
          SKIP_BENCH=1 "$here/soak_pairs.sh" "$pkg" 1 "$d" "${extra[@]}" | tail -1 | sed "s/^| 1 |/| $name $n |/" >> "$table"
    else
      "$here/caption_row.sh" "$name $n" "$launcher" "$opts -Xlog:gc,gc+cpu:file=$d/gc.log" "$(cache_of "$launcher")" \
          "$d" "$pkg" "$images" "${extra[@]}" >> "$table"
    fi
    python3 - "$d/gc.log" "$name $n" >> "$gc" <<'PY'
import re, sys
kind, cpu, count, heap = {}, {"young": 0.0, "full": 0.0}, {"young": 0, "full": 0}, 0
for line in open(sys.argv[1]):
    m = re.search(r"GC\((\d+)\) Pause (Young|Full).*\((\d+)M\)", line)
    if m:
        kind[m.group(1)] = "young" if m.group(2) == "Young" else "full"
        count[kind[m.group(1)]] += 1
        heap = max(heap, int(m.group(3)))
    m = re.search(r"GC\((\d+)\) User=([0-9.]+)s Sys=([0-9.]+)s", line)
    if m and m.group(1) in kind:
        cpu[kind[m.group(1)]] += float(m.group(2)) + float(m.group(3))
print(f"| {sys.argv[2]} | {count['young']} | {cpu['young']:.2f} | {count['full']} | {cpu['full']:.2f} | {heap} |")
PY
  done
done
cat "$table"; echo; cat "$gc"
