#!/usr/bin/env bash
# Quiet-machine side by side (docs/benchmarks.md, "Quiet side by side ..."): two builds of Loupe alternating, and
# transformers bf16 twice in the same script. Nothing else may run on the machine meanwhile.
#   PREV=worktree-of-the-previous-landing NEW=this-checkout PREV_PKG=dir NEW_PKG=dir CKPT=hf-checkpoint-dir \
#   PY=python-with-transformers IMAGES=dir-of-640x480-jpegs docs/bench/quiet_side_by_side.sh
# PREV_PKG / NEW_PKG hold fp32/, int8/, int4/ packages converted by each build (the same when the converter did
# not change).
L() { echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"; }
export LOUPE_THREADS=2
prev=${PREV:?}; new=${NEW:-.}; P=${PREV_PKG:?}; N=${NEW_PKG:-$PREV_PKG}; CKPT=${CKPT:?}; PY=${PY:-python3}; IMAGES=${IMAGES:?}
bench() { # root pkg label [extra]
  echo "-- $3 $(git -C $1 log --oneline -1 | cut -c1-12) $2 $(L)"
  /usr/bin/time -f "maxrss_kb=%M" $1/bin/loupe bench --model $2 --batch-sizes 1,16 --max-new-tokens 20 --threads 2 --iterations 3 $4 2>&1 | grep -E "^\| (batch|1|16) |maxrss|^split"
}
tf() { echo "-- transformers $(L)"; $PY $new/docs/bench/transformers_generate.py $CKPT --batch-sizes 1,16 --max-new-tokens 20 --threads 2 --dtypes bf16 --runs 3 2>/dev/null; }
echo "== start $(date -u +%H:%M) $(L)"
echo "## runtime (#12), alternating prev/new"
bench $prev $P/fp32 prev-fp32
bench $new $N/fp32 new-fp32
bench $prev $P/int8 prev-int8
bench $new $N/int8 new-int8
tf
bench $new $N/int8 new-int8-again
bench $prev $P/int8 prev-int8-again
bench $new $N/fp32 new-fp32-again
tf
bench $new $N/int8 new-int8-third
bench $new $N/int4 new-int4
echo "## prefill in parts A/B (int8 b16, same build) $(L)"
for v in 1 0 1 0; do if [ $v = 1 ]; then export LOUPE_JAVA_OPTS=-Dloupe.ort.prefill-parts=1; else unset LOUPE_JAVA_OPTS; fi
  echo "-- prefill-parts=$([ $v = 1 ] && echo 1 || echo default) $(L)"
  $new/bin/loupe bench --model $N/int8 --batch-sizes 16 --max-new-tokens 20 --threads 2 --iterations 3 2>/dev/null | grep -E "^\| 16 "; done
unset LOUPE_JAVA_OPTS
echo "## pipeline (#13) $(L)"
for root in $new $prev $new $new; do pk=$P/fp32; [ $root = $new ] && pk=$N/fp32
  echo "-- bench $root $(L)"
  $root/bin/loupe bench --model $pk --batch-sizes 16 --max-new-tokens 20 --threads 2 --iterations 3 2>/dev/null | grep -E "^\| (batch|16) "
  echo "-- caption $root $(L)"; rm -rf ${TMPDIR:-/tmp}/loupe-caption-out
  $root/bin/loupe caption --model $pk --input $IMAGES --output ${TMPDIR:-/tmp}/loupe-caption-out --batch-size 16 --max-new-tokens 20 --min-new-tokens 20 2>&1 | grep -E "throughput|mean batch|start-up|error|Error" | head -5
done
for root in $new $prev $new; do pk=$P/fp32; [ $root = $new ] && pk=$N/fp32
  echo "-- soak $root $(L)"
  $root/bin/loupe bench soak --model $pk --requests 640 --bad-fraction 0 --min-new-tokens 20 --max-new-tokens 20 --batch-size 16 --image-size 640x480 --threads 2 --tasks caption --distinct-images 640 2>/dev/null | grep -E "throughput|mean batch|stages|lost|duplicat|requests/s|CPU"
  echo "-- bench $root $(L)"
  $root/bin/loupe bench --model $pk --batch-sizes 16 --max-new-tokens 20 --threads 2 --iterations 3 2>/dev/null | grep -E "^\| (batch|16) "
done
echo "## caption C1-only A/B $(L)"
$new/bin/loupe bench --model $N/fp32 --batch-sizes 16 --max-new-tokens 20 --threads 2 --iterations 3 2>/dev/null | grep -E "^\| 16 "
for o in "-XX:TieredStopAtLevel=1" ""; do echo "-- caption opts='$o' $(L)"; rm -rf ${TMPDIR:-/tmp}/loupe-caption-out
  LOUPE_JAVA_OPTS="$o" $new/bin/loupe caption --model $N/fp32 --input $IMAGES --output ${TMPDIR:-/tmp}/loupe-caption-out --batch-size 16 --max-new-tokens 20 --min-new-tokens 20 2>&1 | grep -E "throughput|mean batch" | head -3; done
echo "## continuous (#14) $(L)"
$new/bin/loupe bench --model $N/fp32 --batch-sizes 16 --length-mix 4,8,32,64 --scheduling static,continuous,continuous-overlap --iterations 2 --threads 2 2>/dev/null | grep -E "^\| |^split"
echo "== end $(date -u +%H:%M) $(L)"
