#!/usr/bin/env bash
# The GPU verification of fp16-compute packages and `loupe bench --device cuda`, in one short run on a CUDA host
# (Linux x64, NVIDIA driver for CUDA 12, CUDA 12 runtime libraries and cuDNN 9 on LD_LIBRARY_PATH; see
# docs/models.md#gpu). About 5 minutes on an H100, most of it the Maven build. Run from anywhere:
#
#   docs/bench/gpu-check.sh [OUT_DIR]          # default /tmp/loupe-gpu-check; MVN_FLAGS=-o builds offline
#
# Steps: 1. build with -Pgpu (onnxruntime_gpu 1.28.0: Maven Central, or the local repository with MVN_FLAGS=-o);
# 2. CudaExecutionTest (the fixture's greedy tokens on CUDA: fp32 through both runners, fp16-compute) and the
# device-bound parity suites (InstructBLIP-Vicuna, BLIP-2 OPT, LLaVA) with the runner on CUDA; 3. convert the InstructBLIP-Vicuna and LLaVA
# fixtures at fp32 and fp16-compute and generate 12 greedy tokens on CUDA with each, against transformers' ids in the
# fixtures' reference.json (fp16-compute on random tiny weights: a flipped near-tie shows as the first differing
# position; the per-token score difference to fp32 is printed); 4. `loupe bench --device cuda` at fp32 and
# fp16-compute, batch 1 and 16, on the benchmark checkpoint (/tmp/bm/checkpoint if present, else the same dimensions
# generated with --random-checkpoint). Everything lands in OUT_DIR; the exit status is 1 if a step failed.
# DEVICE=cpu runs the same steps on the CPU build (no -Pgpu, no CudaExecutionTest): a dry run of the script itself;
# BENCH_FLAGS replaces the bench's batch sizes, tokens and runs, BENCH_MODEL its model flags.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${1:-/tmp/loupe-gpu-check}"
mkdir -p "$OUT"
cd "$ROOT"
status=0
DEVICE="${DEVICE:-cuda}"
GPU_PROFILE=-Pgpu
[ "$DEVICE" = cpu ] && GPU_PROFILE=
step() { echo; echo "== $*" | tee -a "$OUT/summary.txt"; }

if [ "$DEVICE" != cpu ]; then
    step "GPU"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee -a "$OUT/summary.txt" || status=1
fi

step "build $GPU_PROFILE"
if ! mvn -B -q ${MVN_FLAGS:-} $GPU_PROFILE package -DskipTests > "$OUT/build.log" 2>&1; then
    tail -30 "$OUT/build.log"; echo "build failed" | tee -a "$OUT/summary.txt"; exit 1
fi

if [ "$DEVICE" != cpu ]; then
    step "CudaExecutionTest and the device-bound parity suites on CUDA (-Dloupe.test.device=cuda)"
    mvn -B ${MVN_FLAGS:-} -Pgpu -pl model test -Dloupe.test.device=cuda -Dtest='CudaExecutionTest,DeviceBound*Test' \
        -Dsurefire.failIfNoSpecifiedTests=false > "$OUT/cuda-test.log" 2>&1 || status=1
    grep -E "Tests run:.*(CudaExecutionTest|DeviceBound)|FAIL|^cuda " "$OUT/cuda-test.log" | tee -a "$OUT/summary.txt"
fi

for fixture in instructblip-vicuna llava; do
    ref="fixtures/hf-reference/$fixture/reference.json"
    image="fixtures/hf-reference/images/$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['single']['image'])" "$ref")"
    prompt="$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['single']['prompt'])" "$ref")"
    for dtype in fp32 fp16-compute; do
        step "$fixture $dtype: convert, 12 greedy tokens on $DEVICE"
        pkg="$OUT/pkg-$fixture-$dtype"
        rm -rf "$pkg"
        if ! bin/loupe convert --checkpoint "fixtures/hf-reference/$fixture/checkpoint" --out "$pkg" --dtype "$dtype" \
                2>> "$OUT/convert.log"; then
            echo "convert failed" | tee -a "$OUT/summary.txt"; status=1; continue
        fi
        bin/loupe annotate --device "$DEVICE" --model "$pkg" --image "$image" --prompt "$prompt" --max-new-tokens 12 \
            > "$OUT/annotate-$fixture-$dtype.jsonl" 2> "$OUT/annotate-$fixture-$dtype.log" || status=1
        python3 - "$ref" "$OUT/annotate-$fixture-$dtype.jsonl" "$OUT/annotate-$fixture-fp32.jsonl" <<'PY' \
            | tee -a "$OUT/summary.txt" || status=1
import json, sys
expected = json.load(open(sys.argv[1]))["single"]["greedy"]["new_token_ids"]
lines = open(sys.argv[2]).read().split("\n")
got = json.loads(lines[0]) if lines[0] else {"error": "no output"}
if "token_ids" not in got:
    print("FAILED:", got.get("error")); sys.exit(1)
ids = got["token_ids"]
first = next((i for i, (a, b) in enumerate(zip(ids, expected)) if a != b), None)
print("greedy ids", ids, "== transformers" if ids == expected else f"differ from transformers {expected} at {first}")
if sys.argv[2] != sys.argv[3]:
    try:
        ref32 = json.loads(open(sys.argv[3]).readline())
        print(f"score {got['score']:.5f} vs fp32 {ref32['score']:.5f} "
              f"(difference {abs(got['score'] - ref32['score']):.4f}; scores are per generated token)")
    except (OSError, ValueError, KeyError):
        print("no fp32 result to compare the score with")
sys.exit(0 if ids == expected else 1)
PY
    done
done

BENCH_FLAGS="${BENCH_FLAGS:---batch-sizes 1,16 --max-new-tokens 20 --warmup 1 --iterations 3}"
step "bench --device $DEVICE, fp32 and fp16-compute: $BENCH_FLAGS"
if [ -n "${BENCH_MODEL:-}" ]; then model=($BENCH_MODEL)
elif [ -f /tmp/bm/checkpoint/config.json ]; then model=(--model /tmp/bm/checkpoint); else model=(--random-checkpoint); fi
bin/loupe bench --device "$DEVICE" "${model[@]}" --dtypes fp32,fp16-compute $BENCH_FLAGS \
    --work-dir "$OUT/bench-work" > "$OUT/bench.txt" 2> "$OUT/bench.log" || status=1
cat "$OUT/bench.txt" | tee -a "$OUT/summary.txt"
rm -rf "$OUT/bench-work"

step "done: status $status (figures and logs in $OUT)"
exit $status
