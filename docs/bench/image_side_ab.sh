#!/bin/bash
# The int8 / fp32 A/B of docs/benchmarks.md "int8 image side: runs on their callers, the Q-Former side by side":
# another build's launcher on its packages against this worktree's on its own, alternating, in the real-time class
# (the machine is shared), with transformers bf16 first and last.
#   PREV=/work/main PREV_PKGS=/tmp/bm5 NEW_PKGS=/tmp/s7imgside CKPT=/tmp/bm/checkpoint PY=/tmp/hfenv/bin/python \
#     docs/bench/image_side_ab.sh
# (NEW_PKGS: `bin/loupe convert --checkpoint $CKPT --out $NEW_PKGS/fp32` and `... --out $NEW_PKGS/int8 --dtype int8`)
cd "$(dirname "$0")/../.."
prev=${PREV:?}; P=${PREV_PKGS:?}; N=${NEW_PKGS:?}; CKPT=${CKPT:?}; PY=${PY:-python3}; ROUNDS=${ROUNDS:-2}
L() { cut -d' ' -f1-3 /proc/loadavg; }
B() { MALLOC_ARENA_MAX=1 chrt -f 1 "$1" bench --model "$2" --batch-sizes 1,16 --max-new-tokens 20 --threads 2 \
        --iterations 3 2>&1 | grep -E "^\| (1|16) |split per run"; }
tf() { echo "-- transformers bf16 $(L)"; chrt -f 1 "$PY" docs/bench/transformers_generate.py "$CKPT" --batch-sizes 1,16 \
        --max-new-tokens 20 --threads 2 --dtypes bf16 --runs 3 2>/dev/null | tail -2; }
tf
for i in $(seq "$ROUNDS"); do
  for d in int8 fp32; do
    echo "-- prev $d $(L)"; B "$prev/bin/loupe" "$P/$d"
    echo "-- new $d $(L)"; B bin/loupe "$N/$d"
  done
done
tf
