#!/usr/bin/env python3
"""Per thread group: CPU seconds and seconds spent waiting for a core, within a window of a run (Linux).

Usage:
  run_queue.py record OUT.jsonl PID [PID...]   sample every 0.5 s until every PID has exited
  run_queue.py report OUT.jsonl T0 T1          the window T0..T1 (epoch seconds, e.g. a soak's "soak: window" line)

/proc/PID/task/TID/schedstat holds, per thread, the time it ran, the time it spent runnable on a run queue without
a core, and how many times it got a core. thread_cpu.py says where the CPU went; this says who waited for it: a
thread of the model that waits while another thread has its core, or wakes late for its share of a parallel
operator, stretches the batch even where the CPU it is given in the end is the same. The report also gives the whole
machine's busy cores over the window (/proc/stat), so that a wait with cores idle can be told from a wait for busy
ones. Thread groups are the thread's name (comm) with trailing digits dropped, per process (ONNX Runtime's pool
threads carry their creator's name: in the jobs, the task thread's).
"""
import json
import os
import re
import sys
import time
from collections import defaultdict


def record(out_path, pids):
    with open(out_path, "w") as out:
        while True:
            sample = {"t": time.time()}
            with open("/proc/stat") as f:
                sample["cpu"] = [int(x) for x in f.readline().split()[1:]]
            threads = {}
            for pid in pids:
                try:
                    tids = os.listdir(f"/proc/{pid}/task")
                except OSError:
                    continue
                for tid in tids:
                    try:
                        with open(f"/proc/{pid}/task/{tid}/comm") as f:
                            name = f.read().strip()
                        with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                            ran, waited, slices = (int(x) for x in f.read().split())
                    except OSError:
                        continue
                    threads[f"{pid}/{tid}"] = [name, ran, waited, slices]
            sample["threads"] = threads
            out.write(json.dumps(sample) + "\n")
            out.flush()
            if not threads:
                return
            time.sleep(0.5)


def report(path, t0, t1):
    samples = [json.loads(line) for line in open(path)]
    a = min(samples, key=lambda s: abs(s["t"] - t0))
    b = min(samples, key=lambda s: abs(s["t"] - t1))
    seconds = b["t"] - a["t"]
    if seconds <= 0:
        sys.exit("no samples span the window")
    total = sum(b["cpu"]) - sum(a["cpu"])
    idle = (b["cpu"][3] + b["cpu"][4]) - (a["cpu"][3] + a["cpu"][4])
    cores = os.cpu_count()
    print(f"window {seconds:.2f} s (samples {a['t']:.2f} to {b['t']:.2f}); machine busy {cores * (1 - idle / total):.3f}"
          f" of {cores} cores")
    groups = defaultdict(lambda: [0.0, 0.0, 0, 0])
    for key, (name, ran, waited, slices) in b["threads"].items():
        before = a["threads"].get(key)
        if before is None:  # started within the window
            before = [name, 0, 0, 0]
        group = groups[key.split("/")[0] + " " + re.sub(r"[-#\s]*\d+$", "", name)]
        group[0] += (ran - before[1]) / 1e9
        group[1] += (waited - before[2]) / 1e9
        group[2] += slices - before[3]
        group[3] += 1
    print(f"| process, thread group | threads | CPU s | cores | waiting for a core, s | share of its time runnable |"
          f" times on a core |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, (ran, waited, slices, n) in sorted(groups.items(), key=lambda kv: -kv[1][0]):
        if ran < 0.01 * seconds:
            continue
        print(f"| {name} | {n} | {ran:.2f} | {ran / seconds:.3f} | {waited:.2f} | {waited / (ran + waited):.0%} |"
              f" {slices} |")


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "record":
        record(sys.argv[2], [int(p) for p in sys.argv[3:]])
    elif len(sys.argv) == 5 and sys.argv[1] == "report":
        report(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))
    else:
        sys.exit(__doc__)
