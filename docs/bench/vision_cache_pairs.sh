#!/usr/bin/env bash
# The vision feature cache off the heap (docs/benchmarks.md, "The vision feature cache off the heap (session 10)"):
# `loupe caption` over distinct images with the default cache (64 MiB), this checkout against OLD (another worktree,
# packaged), alternating (NEW OLD, then OLD NEW, ...), each run through caption_pairs.sh (one pair: bench, then the
# sampled caption). Prints caption_pairs.sh's row (caption's CPU s/image in its window, by part: the GC column is
# the one to read on a loaded machine) and the run's peak RSS (VmHWM, from thread_cpu.py). OFF=1 adds a run of this
# checkout with the cache off (-D loupe.runtime.vision-cache-bytes=0) per round: the floor the cache can reach.
#
#   OLD=/work/wt-prev PAIRS=2 docs/bench/vision_cache_pairs.sh [OUT_DIR]
set -u
NEW=${NEW:-$(pwd)} OLD=${OLD:?the baseline worktree, packaged} pairs=${PAIRS:-2} out=${1:-/tmp/vision-cache-ab}
pkg=${PKG:-/tmp/bm/fp32} images=${IMAGES:-/tmp/cap640}
cache() { [ "$1" = "$NEW" ] && echo /tmp/cache-cache-new || echo /tmp/cache-cache-old; }
log() { echo "== $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg) $*"; }
rm -rf "$out" && mkdir -p "$out"
# warm-up: each build writes its own class-data archives (bench and caption) in its own cache
for t in "$NEW" "$OLD"; do
  export LOUPE_CACHE=$(cache "$t"); rm -rf "$LOUPE_CACHE"; mkdir -p "$LOUPE_CACHE"
  (cd "$t" && bin/loupe bench --model "$pkg" --batch-sizes 1 --iterations 1 --max-new-tokens 2 >/dev/null 2>&1
   LOUPE_THREADS=2 bin/loupe caption --model "$pkg" --input /tmp/cap32 --output "$out/warm-$(basename "$t")" \
       --batch-size 16 --max-new-tokens 2 >/dev/null 2>&1)
done
run() { # worktree label [extra caption options]
  local t=$1 label=$2; shift 2
  export LOUPE_CACHE=$(cache "$t"); log "$label"
  (cd "$t" && docs/bench/caption_pairs.sh "$pkg" "$images" 1 "$out/$label" "$@" | tail -1)
  python3 -c "import json,sys; print('peak RSS MB', json.load(open(sys.argv[1])).get('peak_rss_mb'))" \
      "$out/$label/pair-1/threads.json" 2>/dev/null || echo "peak RSS: no threads.json"
}
for i in $(seq 1 "$pairs"); do
  if [ $((i % 2)) = 1 ]; then order="$NEW $OLD"; else order="$OLD $NEW"; fi
  for t in $order; do
    [ "$t" = "$NEW" ] && run "$t" "new-$i" || run "$t" "old-$i"
  done
  [ "${OFF:-0}" = 1 ] && run "$NEW" "new-off-$i" -D loupe.runtime.vision-cache-bytes=0
done
log end
