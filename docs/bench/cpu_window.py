#!/usr/bin/env python3
"""CPU seconds per thread group within a window of a run sampled by thread_cpu.py --series.

Usage: cpu_window.py SERIES.jsonl START_EPOCH_S END_EPOCH_S [ITEMS] [--parts]

Takes the last sample at or before START and the first at or after END and prints, per group, the CPU seconds
between them (and per item when ITEMS, e.g. the images or requests the window saw, is given), sorted by size.
With --parts the groups are summed into the parts of a Loupe process (PARTS below, first match wins): the model
(the inference thread and ONNX Runtime's native pool threads), the task thread (reading, fetching, decoding,
resizing, emitting, the chained sink writers), JIT, GC, checkpoints, the embedded Kafka broker, Kafka clients, the
Flink runtime, the soak's harness (the main thread writing requests and reading outcomes), the profiler, the rest.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from thread_cpu import CLK, group  # noqa: E402

PARTS = [
    ("model", r"^loupe-inference|^loupe-qformer|^loupe-image-si|^loupe-llava|^loupe-prefixes|\(native\)$"),
    ("task thread", r"^Source: |^caption-jsonl"),
    ("JIT compilers", r"^C# CompilerThre|^Sweeper"),
    ("GC", r"^GC Thread|^G# |^VM Thread"),
    ("checkpoints", r"^AsyncOperations|^Checkpoint Time|^jobmanager-io|^channel-state"),
    ("Kafka broker", r"^data-plane|^kafka-#-|^group-coordinat|^ExpirationReape|^kafka-scheduler|^broker-|"
                     r"^TxnMarkerSender|^quorum-controll|^controller-|^LogDirFailure|^transaction-log|"
                     r"^share-|^metrics-meter|^executor-|^raft-|^kafka-log|^kafka-producer-network-thread \| kafka"),
    ("Kafka clients", r"^kafka-producer-|^Source Data Fet|^kafka-coordinat"),
    ("Flink runtime", r"^flink-|^Flink|^jobmanager|^pekko|^OutputFlusher|^Time Trigger|^mini-cluster|"
                      r"^resourcemanager|^SourceCoordinat|^failure-metrics|^count-|^taskmanager|^IOManager|"
                      r"^BLOB|^Timer-|^globalEventExec|^RpcService|^FlinkCompletabl|^System Time"),
    ("soak harness / main", r"^java$|^loupe-soak"),
    ("profiler", r"^JFR"),
]


def part(group):
    for name, pattern in PARTS:
        if re.search(pattern, group):
            return name
    return "other"


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    by_part = "--parts" in sys.argv
    lines = [json.loads(l) for l in open(args[0]) if l.strip()]
    series = [s for s in lines if "t" in s]
    final = next((s for s in lines if "java_tids" in s), None)
    if final is not None:
        # regroup each sample's threads with the Java threads of the whole run (see thread_cpu.py)
        java_tids = set(final["java_tids"]) if final["java_tids"] is not None else None
        for s in series:
            if "threads" in s:
                s["groups"] = {k: v / CLK for k, v in group(s["threads"], java_tids).items()}
    start, end = float(args[1]), float(args[2])
    items = int(args[3]) if len(args) > 3 else 0
    a = max((s for s in series if s["t"] <= start), key=lambda s: s["t"], default=series[0])
    b = min((s for s in series if s["t"] >= end), key=lambda s: s["t"], default=series[-1])
    groups = {k: v - a["groups"].get(k, 0) for k, v in b["groups"].items()}
    if by_part:
        parts = {}
        for k, v in groups.items():
            parts[part(k)] = parts.get(part(k), 0) + v
        groups = parts
    wall = b["t"] - a["t"]
    total = b["process"] - a["process"]
    print(f"window {wall:.1f} s, process CPU {total:.1f} s" + (f", {total / items:.4f} s/item over {items}" if items else ""))
    for k, v in sorted(groups.items(), key=lambda kv: -kv[1]):
        if v >= 0.05 or by_part:
            print(f"  {k:32s} {v:8.2f} s" + (f"  {v / items:.4f} s/item" if items else ""))


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        pass
