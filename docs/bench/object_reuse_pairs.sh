#!/usr/bin/env bash
# loupe.object-reuse on and off, alternating, ROUNDS times: each a caption_pairs.sh pair (`loupe bench`, then
# `loupe caption` with -D loupe.object-reuse=true|false) with both processes' GC logs, whose young and full
# collections are counted per process. Run from the repository root after building (README).
#
#   docs/bench/object_reuse_pairs.sh PACKAGE IMAGES_DIR ROUNDS OUT_DIR
#   docs/bench/object_reuse_pairs.sh /tmp/bm7/fp32 /tmp/cap640 3 /tmp/reuse
set -uo pipefail
pkg=$1 images=$2 rounds=$3 out=$4
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
for round in $(seq 1 "$rounds"); do
  for mode in true false; do
    d="$out/$mode-$round"
    rm -rf "$d" && mkdir -p "$d/gc"
    echo "== round $round loupe.object-reuse=$mode $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
    LOUPE_JAVA_OPTS="${LOUPE_JAVA_OPTS:-} -Xlog:gc:file=$d/gc/gc-%p.log" \
        "$here/caption_pairs.sh" "$pkg" "$images" 1 "$d/pairs" -D loupe.object-reuse=$mode 2>&1 | tail -1
    for f in "$d"/gc/gc-*.log; do   # one per process: loupe bench's and caption's (the later pid)
      echo "   $(basename "$f"): young $(grep -c 'Pause Young' "$f") full $(grep -c 'Pause Full' "$f")"
    done
  done
done
echo "== done $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
