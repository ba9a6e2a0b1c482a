#!/usr/bin/env python3
"""Top CPU-sample and allocation sites of a JFR recording, by thread group, optionally per item.

    docs/bench/jfr_sites.py REC.jfr [--items N] [--top K] [--thread PREFIX]

CPU: jdk.ExecutionSample counts by the first frame in a dev.loupe / Flink / JDK method that is not a JDK
collection or stream helper (the "site"), and by the top frame. Allocation: jdk.ObjectAllocationSample weights
(bytes, JFR's estimate of what the sampled allocation site allocated) by the first dev.loupe frame of the stack (or
the top frame when none), in MB and, with --items, MB per item. Thread groups: the thread name up to its first
' (' or '#' (Flink's task thread carries its chain's name; ONNX Runtime's pool is native and not sampled).
"""
import argparse, collections, json, re, subprocess, sys


def events(path, kind):
    out = subprocess.run(["jfr", "print", "--json", "--stack-depth", "64", "--events", kind, path],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["recording"]["events"]


def group(thread):
    name = (thread or {}).get("javaName") or (thread or {}).get("osName") or "?"
    name = re.split(r" \(|#", name)[0]
    return re.sub(r"\d+$", "N", name)[:60]


def frame_name(f):
    m = f["method"]
    return f'{m["type"]["name"]}.{m["name"]}'.replace("/", ".")


def loupe_site(frames):
    for f in frames:
        n = frame_name(f)
        if n.startswith("dev.loupe.") and "$$Lambda" not in n:
            return n
    return frame_name(frames[0]) if frames else "?"


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("rec")
    for flag, kind, default in (("--items", int, 0), ("--top", int, 15), ("--thread", str, "")):
        p.add_argument(flag, type=kind, default=default)
    a = p.parse_args()
    per = (lambda x: f" {x / a.items / 1e3:7.1f} KB/item") if a.items else (lambda x: "")

    samples = events(a.rec, "jdk.ExecutionSample")
    by_group = collections.Counter(group(e["values"]["sampledThread"]) for e in samples)
    print(f"CPU samples: {len(samples)}")
    for g, n in by_group.most_common(12):
        print(f"  {n:6d}  {g}")
    top = collections.Counter()
    site = collections.Counter()
    for e in samples:
        if not group(e["values"]["sampledThread"]).startswith(a.thread):
            continue
        frames = (e["values"].get("stackTrace") or {}).get("frames") or []
        if frames:
            top[frame_name(frames[0])] += 1
            site[loupe_site(frames)] += 1
    print(f"\ntop frames ({a.thread or 'all threads'}):")
    for n, c in top.most_common(a.top):
        print(f"  {c:6d}  {n}")
    print(f"\nfirst dev.loupe frame ({a.thread or 'all threads'}):")
    for n, c in site.most_common(a.top):
        print(f"  {c:6d}  {n}")

    alloc = events(a.rec, "jdk.ObjectAllocationSample")
    total = sum(e["values"]["weight"] for e in alloc)
    print(f"\nallocation: {total / 1e6:.1f} MB sampled weight" + (f", {total / a.items / 1e3:.1f} KB/item" if a.items else ""))
    by_site = collections.Counter()
    by_site_type = collections.Counter()
    by_thread = collections.Counter()
    for e in alloc:
        v = e["values"]
        frames = (v.get("stackTrace") or {}).get("frames") or []
        s = loupe_site(frames)
        by_site[s] += v["weight"]
        by_thread[group(v["eventThread"])] += v["weight"]
        top1 = frame_name(frames[0]) if frames else "?"
        by_site_type[(s, top1, v["objectClass"]["name"])] += v["weight"]
    for g, w in by_thread.most_common(8):
        print(f"  {w / 1e6:8.1f} MB {100 * w / total:5.1f} %{per(w)}  thread {g}")
    print()
    for s, w in by_site.most_common(a.top):
        print(f"  {w / 1e6:8.1f} MB {100 * w / total:5.1f} %{per(w)}  {s}")
    print()
    for (s, t, c), w in by_site_type.most_common(a.top):
        print(f"  {w / 1e6:8.1f} MB {100 * w / total:5.1f} %  {s} <- {t} [{c}]")


if __name__ == "__main__":
    main()
