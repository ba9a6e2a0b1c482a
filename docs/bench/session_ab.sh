#!/usr/bin/env bash
# Quiet side by side of two builds (this checkout and OLD, another worktree, both packaged): warm-up runs that write
# each build its own class-data archives (LOUPE_CACHE per build: two builds sharing one cache delete each other's), then
# caption pairs (caption_pairs.sh), soak pairs (soak_pairs.sh) in alternating order, and the length mix under both
# loops. Uses /tmp/bm/fp32, /tmp/cap640 and /tmp/cap32 (32 of them). Usage: OLD=/work/wt-prev docs/bench/session_ab.sh
set -u
out=/tmp/fin; rm -rf $out; mkdir -p $out
NEW=${NEW:-$(pwd)} OLD=${OLD:?the baseline worktree, built}
cache() { [ "$1" = "$NEW" ] && echo /tmp/cache-new || echo /tmp/cache-old; }
# warm-up: each build writes its own class-data archives (bench, caption, bench soak) in its own cache
for t in $NEW $OLD; do
  export LOUPE_CACHE=$(cache $t); rm -rf $LOUPE_CACHE; mkdir -p $LOUPE_CACHE
  (cd $t && bin/loupe bench --model /tmp/bm/fp32 --batch-sizes 1 --iterations 1 --max-new-tokens 2 >/dev/null 2>&1
   rm -rf /tmp/warm-out; LOUPE_THREADS=2 bin/loupe caption --model /tmp/bm/fp32 --input /tmp/cap32 --output /tmp/warm-out --batch-size 16 --max-new-tokens 2 >/dev/null 2>&1
   bin/loupe bench soak --model /tmp/bm/fp32 --requests 32 --bad-fraction 0 --max-new-tokens 2 --batch-size 16 --threads 2 >/dev/null 2>&1)
  ls $LOUPE_CACHE/cds
done
log() { echo "== $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg) $*"; }
for i in 1 2; do
  for t in $NEW $OLD; do
    [ $i = 2 ] && { [ $t = $NEW ] && t=$OLD || t=$NEW; }
    export LOUPE_CACHE=$(cache $t); n=$(basename $t); log caption $n $i
    (cd $t && docs/bench/caption_pairs.sh /tmp/bm/fp32 /tmp/cap640 1 $out/cap-$n-$i | tail -1)
  done
done
for i in 1 2; do
  for t in $NEW $OLD; do
    [ $i = 2 ] && { [ $t = $NEW ] && t=$OLD || t=$NEW; }
    export LOUPE_CACHE=$(cache $t); n=$(basename $t); log soak $n $i
    (cd $t && docs/bench/soak_pairs.sh /tmp/bm/fp32 1 $out/soak-$n-$i | tail -1)
  done
done
for t in $NEW $OLD; do
  export LOUPE_CACHE=$(cache $t); n=$(basename $t); log mix $n
  (cd $t && bin/loupe bench --model /tmp/bm/fp32 --length-mix 4,8,32,64 --batch-sizes 16 --scheduling static,continuous 2>/dev/null | grep -E "^\| 16|split" )
done
log end
