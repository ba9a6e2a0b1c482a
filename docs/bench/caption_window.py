#!/usr/bin/env python3
"""One `loupe caption` run's figures from its summary and a thread_cpu.py --jcmd --series sampling of its JVM.

Usage: caption_window.py RUN_DIR [LAUNCH_EPOCH_S EXIT_EPOCH_S]

RUN_DIR holds caption.out (the command's stdout) and series.jsonl. Prints one JSON object: the summary's window
images/s (first read -> last result) and whole-run images/s and start-up (submission -> first read), the command's
wall time and its time to the first read (launch -> first read) when the launch and exit times are given, the
process's CPU seconds until the first read, and CPU
seconds per image within the window: the process and its parts (cpu_window.py --parts), with the JIT compilers split
into C1 and C2. The window ends where the inference thread last used CPU (the last result) and spans the summary's
seconds, as in caption_pairs.sh.
"""
import json
import os
import re
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from thread_cpu import CLK  # noqa: E402


def main():
    d = sys.argv[1]
    launch, exit_ = (float(sys.argv[2]), float(sys.argv[3])) if len(sys.argv) > 3 else (None, None)
    text = open(os.path.join(d, "caption.out")).read()
    m = re.search(r"throughput: ([0-9.]+) images/s from the first read to the last result \((\d+) in this run, "
                  r"([0-9.]+) s\); ([0-9.]+) images/s over the whole run \(([0-9.]+) s, start-up ([0-9.]+) s\)", text)
    if not m:
        print(json.dumps({"error": "no summary in " + d}))
        return
    ips, done, span = float(m.group(1)), int(m.group(2)), float(m.group(3))
    lines = [json.loads(l) for l in open(os.path.join(d, "series.jsonl")) if l.strip()]
    samples = [s for s in lines if "t" in s]
    inference = lambda s: sum(v for k, v in s["groups"].items() if k.startswith("loupe-inference"))
    last = inference(samples[-1])
    end = next(s["t"] for s in samples if inference(s) >= last - 0.01)
    start = end - span
    out = subprocess.run([sys.executable, os.path.join(here, "cpu_window.py"), os.path.join(d, "series.jsonl"),
                          str(start), str(end), str(done), "--parts"], capture_output=True, text=True).stdout
    parts = {}
    for l in out.splitlines()[1:]:
        pm = re.match(r"\s+(.*?)\s+[0-9.]+ s\s+([0-9.]+) s/item", l)
        if pm:
            parts[pm.group(1)] = float(pm.group(2))
    a = max((s for s in samples if s["t"] <= start), key=lambda s: s["t"], default=samples[0])
    b = min((s for s in samples if s["t"] >= end), key=lambda s: s["t"], default=samples[-1])
    compilers = {}
    for tid, (name, ticks, _) in b["threads"].items():
        if re.match(r"C[12] CompilerThre", name):
            before = a["threads"].get(tid, [name, 0, 0])[1]
            compilers[name[:2]] = compilers.get(name[:2], 0) + (ticks - before) / CLK / done
    result = {"window_images_per_second": ips, "images": done, "window_s": span,
              "whole_run_images_per_second": float(m.group(4)), "whole_run_s": float(m.group(5)),
              "start_up_s": float(m.group(6)),
              "process_cpu_s_per_image": float(re.search(r"([0-9.]+) s/item", out.splitlines()[0]).group(1)),
              "parts_cpu_s_per_image": parts,
              "peak_rss_mb": round(max(s.get("peak_rss_kb", 0) for s in samples) / 1024),
              "c1_cpu_s_per_image": round(compilers.get("C1", 0), 4), "c2_cpu_s_per_image": round(compilers.get("C2", 0), 4)}
    bm = re.search(r"inference ([0-9.]+) ms \(its batch's\)", text)
    if bm:
        result["model_batch_ms"] = float(bm.group(1))
    if launch is not None:
        result["command_wall_s"] = round(exit_ - launch, 2)
        result["launch_to_first_read_s"] = round(start - launch, 2)
    # the process's CPU seconds until the first read (JVM start, command line, MiniCluster, job, operators, model):
    # steadier than the start-up's wall time on a loaded host
    result["cpu_s_to_first_read"] = round(a["process"], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
