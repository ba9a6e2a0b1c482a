#!/usr/bin/env bash
# A/B of the streaming job's CPU per request: soak_pairs.sh (loupe bench, then the issue-13 soak, CPU per part within
# the soak's window) for a baseline build's launcher and this build's, alternating A B B A ... so that both see the
# same stretch of the host's load. Run from the repository root after building this tree (README).
#
#   docs/bench/soak_ab.sh PACKAGE BASELINE_LOUPE PAIRS OUT_DIR
#   docs/bench/soak_ab.sh /tmp/bm/fp32 /work/wt-prev/bin/loupe 2 /tmp/soak-ab
#
# Each run's files stay in OUT_DIR/<n>-<build>/pair-1; the table rows go to stdout, labelled by build, with the
# load average at the start and end. SKIP_BENCH=1 leaves loupe bench out (the soak's parts are the figure).
set -euo pipefail
pkg=$1 base=$2 pairs=$3 out=$4
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
mkdir -p "$out"
n=0
run() {   # $1 label, $2 launcher
  n=$((n + 1))
  LOUPE_BIN=$2 "$here/soak_pairs.sh" "$pkg" 1 "$out/$n-$1" | tail -1 | sed "s/^| 1 |/| $n $1 |/"
}
printf '| run build | load (bench, soak start, end) | bench images/s | bench CPU s/image | soak requests/s | soak CPU s/request | ratio | soak parts, CPU s/request |\n'
printf '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |\n'
for p in $(seq 1 "$pairs"); do
  if [ $((p % 2)) = 1 ]; then run baseline "$base"; run this "$root/bin/loupe"
  else run this "$root/bin/loupe"; run baseline "$base"; fi
done
