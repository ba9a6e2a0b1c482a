#!/usr/bin/env bash
# One `loupe caption` run (issue 13's settings: batch 16, 20 new tokens with min = max, 2 ONNX Runtime threads) with
# its JVM's threads sampled by thread_cpu.py --jcmd --series: OUT_DIR gets caption.out, caption.err, series.jsonl and
# threads.json, and launch.txt (the launch and exit times, epoch s). Used by caption_pairs.sh and caption_ab.sh.
#
#   docs/bench/sampled_caption.sh LAUNCHER OUT_DIR PACKAGE IMAGES_DIR [extra caption options...]
set -euo pipefail
launcher=$1 d=$2 pkg=$3 images=$4
shift 4
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
t0=$(date +%s.%N)
LOUPE_THREADS=2 "$launcher" caption --model "$pkg" --input "$images" --output "$d/out" --batch-size 16 \
    --max-new-tokens 20 --min-new-tokens 20 -D loupe.runtime.threads=2 "$@" > "$d/caption.out" 2> "$d/caption.err" &
launcher_pid=$!
# the launcher execs java (same pid); a launcher that runs java as its child (bin/loupe's run that writes the
# class-data archive) is followed to it
sleep 0.3
jvm=$(pgrep -P "$launcher_pid" java || echo "$launcher_pid")
python3 "$here/thread_cpu.py" "$jvm" --jcmd --series "$d/series.jsonl" > "$d/threads.json" 2>&1 || true
wait "$launcher_pid" || true
echo "$t0 $(date +%s.%N)" > "$d/launch.txt"
