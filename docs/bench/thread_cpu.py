#!/usr/bin/env python3
"""CPU seconds of a running JVM by thread group (and its peak RSS, VmHWM), sampled from /proc (Linux).

Usage: thread_cpu.py PID [--interval 0.25] [--out FILE.json] [--series FILE.jsonl] [--jcmd]

Samples /proc/PID/task/*/stat every --interval seconds until the process exits (or Ctrl-C), keeps each thread's
latest utime+stime (a thread that ends loses at most one interval), and prints CPU seconds per thread group: the
thread's name (comm, 15 characters) with digits replaced by '#', so "Kafka Fetcher 1" and "Kafka Fetcher 2" count
together. ONNX Runtime's pool threads carry their creator's name; the nice value (field 19) is kept in the key so
they can be told apart where the creator runs at another nice value, and with --jcmd the JVM's own thread list
(jcmd PID Thread.print) is read: threads never seen there are native (ONNX Runtime's pool) and get " (native)" in
their key. A thread dump is not free: jcmd starts a JVM of its own and the dump stops the target's Java threads at a
safepoint; taken every 10 s through a busy run, each left a two-second dip in the measured job's CPU
(docs/benchmarks.md, session 13). So a dump is taken only when threads appeared since the last one (at most every
2 s), and once the measured work has begun (a dump listed Loupe's model thread, loupe-inference-N, and the process
then kept over 1.2 cores busy for 3 s, on this 2-core machine) only while it is nearly idle (under half a core over
the last second: a soak's final duplicate watch). A Java thread started within the busy run and never dumped counts
as native: the jobs' such threads are the model's helpers ("loupe-..."), which count as the model either way. Prints
the process's total (from
/proc/PID/stat, which also counts threads that ended) too, so the groups' sum can be checked against it.
With --series, every sample's cumulative groups (and each thread's figures) go to FILE.jsonl with a wall-clock time,
and a last line holds the Java threads seen in the whole run, so that a window of the run (e.g. from the first request
written to the last outcome, start-up left out) can be taken with cpu_window.py, which groups every sample with that
final set (a thread the dumps had not listed yet would otherwise move from "native" to Java within the window).
"""
import json
import os
import re
import subprocess
import sys
import time

CLK = os.sysconf("SC_CLK_TCK")


def read_stat(path):
    with open(path) as f:
        s = f.read()
    name = s[s.index("(") + 1:s.rindex(")")]
    rest = s[s.rindex(")") + 2:].split()
    # rest[0] is field 3 (state); utime is field 14, stime 15, nice 19
    return name, int(rest[11]) + int(rest[12]), int(rest[16])


def peak_rss_kb(pid):
    """The process's peak resident set so far (VmHWM), in KiB; 0 when unreadable."""
    try:
        with open(f"/proc/{pid}/status") as f:
            m = re.search(r"VmHWM:\s+(\d+)", f.read())
        return int(m.group(1)) if m else 0
    except (FileNotFoundError, ProcessLookupError):
        return 0


def java_threads(pid):
    """The native thread ids of the JVM's Java threads (nid=0x... in a thread dump)."""
    try:
        dump = subprocess.run(["jcmd", str(pid), "Thread.print"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return set()
    return {str(int(n, 16)) for n in re.findall(r"nid=0x([0-9a-f]+)", dump)}


def group(threads, java_tids=None):
    groups = {}
    for tid, (name, ticks, nice) in threads.items():
        key = re.sub(r"\d+", "#", name) + (f" (nice {nice})" if nice else "")
        if java_tids and tid not in java_tids:
            key += " (native)"
        groups[key] = groups.get(key, 0) + ticks
    return groups


def main():
    pid = int(sys.argv[1])
    interval = 0.25
    out = None
    series = None
    jcmd = False
    java_tids = set()
    last_jcmd = 0
    args = sys.argv[2:]
    while args:
        a = args.pop(0)
        if a == "--interval":
            interval = float(args.pop(0))
        elif a == "--out":
            out = args.pop(0)
        elif a == "--jcmd":
            jcmd = True
        elif a == "--series":
            series = open(args.pop(0), "w")
    threads = {}
    total = 0
    hwm = 0
    recent = []   # (time, process ticks) over about the last second: how busy the process is
    busy_since = None   # since when the process has kept over 1.2 cores busy, None while it does not
    measuring = False   # it has done so for 3 s: thread dumps only while it is nearly idle
    dumped = set()      # the threads that existed at the last dump
    dumps = []          # when the thread dumps were taken (wall clock), for the series' last line
    model_dumped = False  # a dump has listed Loupe's model thread (loupe-inference-N)
    try:
        while os.path.exists(f"/proc/{pid}"):
            try:
                _, t, _ = read_stat(f"/proc/{pid}/stat")
                total = t
                hwm = peak_rss_kb(pid) or hwm
                for tid in os.listdir(f"/proc/{pid}/task"):
                    try:
                        threads[tid] = read_stat(f"/proc/{pid}/task/{tid}/stat")
                    except (FileNotFoundError, ProcessLookupError, ValueError):
                        pass
                if series:
                    series.write(json.dumps({"t": time.time(), "process": total / CLK, "peak_rss_kb": hwm,
                                             "groups": {k: v / CLK for k, v in
                                                        group(threads, java_tids if jcmd else None).items()},
                                             "threads": threads}) + "\n")
                    series.flush()
            except (FileNotFoundError, ProcessLookupError, ValueError):
                break
            now = time.time()
            recent.append((now, total))
            while len(recent) > 1 and now - recent[0][0] > 1.0:
                recent.pop(0)
            busy = (total - recent[0][1]) / CLK / (now - recent[0][0]) if now > recent[0][0] else 0.0
            busy_since = (busy_since or now) if busy >= 1.2 else None
            # the measured work: the model's thread listed by a dump (so its task thread was too), then 3 s busy
            measuring = measuring or (model_dumped and busy_since is not None and now - busy_since >= 3)
            new_threads = not set(threads) <= dumped
            due = new_threads and now - last_jcmd > 2 and (not measuring or busy < 0.5)
            if jcmd and due:
                last_jcmd = now
                dumped = set(threads)
                dumps.append(round(now, 3))
                java_tids |= java_threads(pid)
                model_dumped = any(threads[t][0].startswith("loupe-inferenc") for t in dumped)
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    if series:
        # a thread seen before the first thread dump that listed it was grouped as native in the samples until
        # then: cpu_window.py regroups every sample's "threads" with this final set
        series.write(json.dumps({"java_tids": sorted(java_tids), "dumps": dumps} if jcmd else {"java_tids": None})
                     + "\n")
        series.close()
    groups = group(threads, java_tids if jcmd else None)
    result = {"process_cpu_s": total / CLK, "peak_rss_mb": round(hwm / 1024),
              "threads_cpu_s": sum(groups.values()) / CLK,
              "groups": {k: v / CLK for k, v in sorted(groups.items(), key=lambda kv: -kv[1])}}
    text = json.dumps(result, indent=1)
    if out:
        with open(out, "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()
