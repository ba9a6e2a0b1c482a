#!/usr/bin/env python3
"""Per-graph run times from ONNX Runtime profiles (chrome-trace JSON, one file per session) written with
-Dloupe.ort.profile=PREFIX (see docs/benchmarks.md). For each session file: the number of runs and the median /
mean run time (the 'model_run' events), and for the decoder the runs split by their inputs_embeds shape
(prefill: seq > 1; step: seq == 1), per batch size.

usage: ort_profile_runs.py PROFILE.json ...
"""
import json
import statistics
import sys
from collections import defaultdict


def runs(events):
    """(start, duration µs) of every model_run, and per run the inputs_embeds shape if a node reveals it."""
    model_runs = sorted((e["ts"], e["dur"]) for e in events if e.get("name") == "model_run")
    shapes = {}
    nodes = sorted((e["ts"], e) for e in events if e.get("cat") == "Node" and "args" in e)
    i = 0
    for start, dur in model_runs:
        while i < len(nodes) and nodes[i][0] < start:
            i += 1
        j = i
        while j < len(nodes) and nodes[j][0] <= start + dur:
            shapes_in = nodes[j][1]["args"].get("input_type_shape", [])
            for s in shapes_in:
                for _, dims in s.items():
                    if len(dims) == 3 and start not in shapes:
                        shapes[start] = dims
            if start in shapes:
                break
            j += 1
    return model_runs, shapes


def main(paths):
    for path in paths:
        with open(path) as f:
            events = json.load(f)
        model_runs, shapes = runs(events)
        durs = [d / 1000 for _, d in model_runs]
        if not durs:
            continue
        print(f"{path}: {len(durs)} runs, median {statistics.median(durs):.2f} ms, mean {statistics.mean(durs):.2f} ms")
        if "decoder" in path:
            groups = defaultdict(list)
            for start, dur in model_runs:
                dims = shapes.get(start)
                if dims:
                    kind = "prefill" if dims[1] > 1 else "step"
                    groups[(dims[0], kind)].append(dur / 1000)
            for (batch, kind), ds in sorted(groups.items()):
                print(f"  batch {batch} {kind}: {len(ds)} runs, median {statistics.median(ds):.2f} ms,"
                      f" mean {statistics.mean(ds):.2f} ms")


if __name__ == "__main__":
    main(sys.argv[1:])
