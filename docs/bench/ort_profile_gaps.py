#!/usr/bin/env python3
"""Time between consecutive decoder runs during generation (from a decoder session's ONNX Runtime profile): the
end of one run to the start of the next step run, i.e. everything a decoding step does outside the decoder graph
(token choice in Java, the embedding run, tensor set-up). Median and mean per batch size, in ms.

usage: ort_profile_gaps.py DECODER_PROFILE.json ...
"""
import json
import statistics
import sys
from collections import defaultdict

from ort_profile_runs import runs

for path in sys.argv[1:]:
    with open(path) as f:
        model_runs, shapes = runs(json.load(f))
    gaps = defaultdict(list)
    for (s1, d1), (s2, _) in zip(model_runs, model_runs[1:]):
        dims = shapes.get(s2)
        if dims and dims[1] == 1:
            gaps[dims[0]].append((s2 - (s1 + d1)) / 1000)
    for batch, g in sorted(gaps.items()):
        print(f"{path}: batch {batch}: {len(g)} step gaps, median {statistics.median(g):.2f} ms,"
              f" mean {statistics.mean(g):.2f} ms")
