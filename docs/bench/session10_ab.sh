#!/usr/bin/env bash
# The lead's quiet side by side of session 10 (docs/benchmarks.md, "Quiet side by side, session 10"): this checkout
# (NEW, packaged) against OLD (another worktree, packaged), each build with its own class-data cache written by
# warm-up runs first; caption pairs (caption_pairs.sh: loupe bench, then loupe caption over /tmp/cap640) in the order
# new, old, new with -Dloupe.resample.simd=false (twice), old, new, new, old; then soak pairs (soak_pairs.sh) new, old,
# old, new; then the length mix on NEW. Uses /tmp/bm/fp32, /tmp/cap640 and /tmp/cap32.
#   OLD=/work/wt-prev docs/bench/session10_ab.sh [OUT_DIR]
set -u
NEW=${NEW:-$(pwd)} OLD=${OLD:?the baseline worktree, built}
out=${1:-/tmp/s10ab}; rm -rf "$out"; mkdir -p "$out"
cache() { [ "$1" = "$NEW" ] && echo /tmp/cache-new || echo /tmp/cache-old; }
log() { echo "== $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg) $*"; }
for t in $NEW $OLD; do
  export LOUPE_CACHE=$(cache $t); rm -rf "$LOUPE_CACHE"; mkdir -p "$LOUPE_CACHE"
  (cd $t && bin/loupe bench --model /tmp/bm/fp32 --batch-sizes 1 --iterations 1 --max-new-tokens 2 >/dev/null 2>&1
   rm -rf /tmp/warm-out; LOUPE_THREADS=2 bin/loupe caption --model /tmp/bm/fp32 --input /tmp/cap32 --output /tmp/warm-out \
       --batch-size 16 --max-new-tokens 2 >/dev/null 2>&1
   bin/loupe bench soak --model /tmp/bm/fp32 --requests 32 --bad-fraction 0 --max-new-tokens 2 --batch-size 16 \
       --threads 2 >/dev/null 2>&1)
done
caption() { local n=$1 t=$2 o=$3; export LOUPE_CACHE=$(cache $t); log caption $n
  (cd $t && LOUPE_JAVA_OPTS="$o" docs/bench/caption_pairs.sh /tmp/bm/fp32 /tmp/cap640 1 "$out/$n" | tail -1); }
soak() { local n=$1 t=$2; export LOUPE_CACHE=$(cache $t); log soak $n
  (cd $t && docs/bench/soak_pairs.sh /tmp/bm/fp32 1 "$out/soak-$n" | tail -1); }
caption new1 $NEW ""; caption old1 $OLD ""
caption scalar1 $NEW "-Dloupe.resample.simd=false"; caption scalar2 $NEW "-Dloupe.resample.simd=false"
caption old2 $OLD ""; caption new2 $NEW ""; caption new3 $NEW ""; caption old3 $OLD ""
soak new1 $NEW; soak old1 $OLD; soak old2 $OLD; soak new2 $NEW
export LOUPE_CACHE=$(cache $NEW); log mix
(cd $NEW && bin/loupe bench --model /tmp/bm/fp32 --length-mix 4,8,32,64 --batch-sizes 16 --scheduling static,continuous \
    2>/dev/null | grep -E "^\| 16|split")
log end
