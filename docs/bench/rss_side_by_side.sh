#!/usr/bin/env bash
# Peak RSS side by side (docs/benchmarks.md, "Peak RSS: the prefill in parts of 4 rows"): two builds alternating,
# int8 and fp32 packages, ROUNDS rounds of `loupe bench --batch-sizes 1,16 --max-new-tokens 20 --threads 2
# --iterations 3`; prints per run the batch-1/16 rows (RSS peak, CPU s/image, prefill ms/image), the split and the
# process's user+system CPU seconds and whole-run peak (/usr/bin/time).
#   PREV=worktree-of-the-previous-build NEW=this-checkout PKG=dir-with-fp32-and-int8 ROUNDS=3 docs/bench/rss_side_by_side.sh
L() { cut -d' ' -f1-3 /proc/loadavg; }
prev=${PREV:?}; new=${NEW:-.}; P=${PKG:?}; rounds=${ROUNDS:-3}
bench() { # root dtype label
  echo "-- $3 $(git -C "$1" log --oneline -1 | cut -c1-8) $2 load $(L)"
  /usr/bin/time -f "cpu_s=%U+%S maxrss_kb=%M" "$1"/bin/loupe bench --model "$P/$2" --batch-sizes 1,16 \
    --max-new-tokens 20 --threads 2 --iterations 3 2>&1 | grep -E "^\| (1|16) |cpu_s|^split"
}
echo "== start $(date -u +%H:%M) load $(L)"
for r in $(seq 1 "$rounds"); do
  bench "$prev" int8 "prev-int8-$r"
  bench "$new" int8 "new-int8-$r"
  bench "$prev" fp32 "prev-fp32-$r"
  bench "$new" fp32 "new-fp32-$r"
done
echo "== end $(date -u +%H:%M) load $(L)"
