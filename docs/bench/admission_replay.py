"""Replays the continuous loop's admission rule (DecodeScheduler: a group joins decoding rows once `min_join` slots
are free, or all the waiting requests fit; with none decoding, whatever waits joins at once) on a run's new-token
counts, first come first served, and prints the decode steps, mean rows per step and prefill runs it takes, beside
static batches that decode each batch's rows of one length together (annotate groups rows by settings). Counts
only; no timing. Used for docs/benchmarks.md ("Where the time goes: the split per run").

    python3 docs/bench/admission_replay.py --slots 16 --mix 4,8,32,64 --images 64
"""
import argparse
import collections


def continuous(lengths, slots, min_join):
    waiting = collections.deque(lengths)
    active = []  # tokens still to generate per decoding row
    steps = row_steps = prefills = 0
    while waiting or active:
        free = slots - len(active)
        if waiting and free > 0 and (not active or free >= min(min_join, len(waiting))):
            group = [waiting.popleft() for _ in range(min(free, len(waiting)))]
            prefills += 1
            active += [n - 1 for n in group if n > 1]  # the prefill gives each row its first token
        if active:
            steps += 1
            row_steps += len(active)
            active = [n - 1 for n in active if n > 1]
    return steps, row_steps, prefills


def static(lengths, batch):
    steps = row_steps = 0
    for start in range(0, len(lengths), batch):
        by_length = collections.Counter(lengths[start:start + batch])
        for n, rows in by_length.items():
            steps += n - 1
            row_steps += (n - 1) * rows
    return steps, row_steps


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--slots", type=int, default=16)
    p.add_argument("--mix", default="4,8,32,64")
    p.add_argument("--images", type=int, default=64)
    a = p.parse_args()
    mix = [int(x) for x in a.mix.split(",")]
    lengths = [mix[i % len(mix)] for i in range(a.images)]
    steps, row_steps = static(lengths, a.slots)
    print(f"static: {steps} steps, {row_steps / steps:.1f} rows per step")
    for min_join in sorted({1, 2, max(1, a.slots // 4), a.slots // 2}):
        steps, row_steps, prefills = continuous(lengths, a.slots, min_join)
        print(f"continuous, join at {min_join} free: {steps} steps, {row_steps / steps:.1f} rows per step, "
              f"{prefills} prefill runs")
    print(f"every step full: {-(-sum(n - 1 for n in lengths) // a.slots)} steps")


if __name__ == "__main__":
    main()
