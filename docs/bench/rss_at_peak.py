#!/usr/bin/env python3
"""What a process's resident memory is made of at its highest point (Linux).

Usage: rss_at_peak.py PID [OUT.smaps]

Samples /proc/PID/status every 20 ms while the process lives and keeps a copy of /proc/PID/smaps each time VmRSS
passes its previous high by more than 1 MiB; when the process ends, prints the copy taken at the highest VmRSS
grouped into the parts of a Loupe process:

- java heap: the JVM's compressed-oops heap reservation (addresses 0x600000000-0x800000000 with the launcher's
  serial collector and a heap under 32 GiB);
- malloc heaps: glibc's main heap ([heap]) and its per-thread arenas (anonymous mappings at 64 MiB-aligned
  addresses) — ONNX Runtime's weights and activations, Java direct buffers (the KV caches) and the JVM's own native
  allocations all come from here;
- other anonymous memory: metaspace, the code cache, thread stacks, malloc's large mmapped blocks;
- files: shared libraries, the JVM's class data archive, mapped files.

The biggest mappings of each kind follow. Used for the peak-RSS breakdown in docs/benchmarks.md; start it right
after the process, e.g. `bin/loupe bench ... & python3 docs/bench/rss_at_peak.py $(pgrep -n java)`.
"""
import re
import sys
import time

ARENA_ALIGN = 64 << 20


def kind(start, name):
    if "/" in name:
        return "files"
    if 0x600000000 <= start < 0x800000000:
        return "java heap"
    if name == "[heap]" or (not name and start % ARENA_ALIGN == 0):
        return "malloc heaps"
    return "other anonymous"


def group(smaps):
    parts, biggest, current = {}, [], None
    for line in smaps.splitlines():
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            fields = line.split(None, 5)
            start, end = (int(x, 16) for x in fields[0].split("-"))
            name = fields[5].strip() if len(fields) > 5 else ""
            current = [kind(start, name), name or fields[0], end - start]
        elif line.startswith("Rss:") and current is not None:
            kib = int(line.split()[1])
            parts[current[0]] = parts.get(current[0], 0) + kib
            biggest.append((kib, current[0], current[1], current[2] >> 10))
    return parts, sorted(biggest, reverse=True)


def main():
    pid = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else None
    best, copy = 0, None
    while True:
        try:
            status = open(f"/proc/{pid}/status").read()
            rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
            if rss > best + 1024:
                copy, best = open(f"/proc/{pid}/smaps").read(), rss
        except (FileNotFoundError, ProcessLookupError, AttributeError):
            break
        time.sleep(0.02)
    if copy is None:
        sys.exit("no sample taken")
    if out:
        open(out, "w").write(copy)
    parts, biggest = group(copy)
    print(f"highest VmRSS sampled: {best >> 10} MiB")
    for name, kib in sorted(parts.items(), key=lambda p: -p[1]):
        print(f"{kib / 1024:8.1f} MiB  {name}")
    print("largest mappings (resident MiB, part, mapping, size MiB):")
    for kib, part, name, size in biggest[:15]:
        print(f"{kib / 1024:8.1f}  {part:16s} {name.rsplit('/', 1)[-1]} ({size >> 10} MiB)")


if __name__ == "__main__":
    main()
