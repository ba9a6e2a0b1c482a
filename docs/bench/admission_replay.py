"""Replays the continuous loop's admission rule (DecodeScheduler: a group joins decoding rows once `min_join` slots
are free, or all the waiting requests fit; with none decoding, whatever waits joins at once) on a run's new-token
counts, and prints the decode steps, mean rows per step and prefill runs it takes, first come first served (the
loop's order), beside static batches that decode each batch's rows of one length together (annotate groups rows by
settings). It also replays shortest-first admission (the fewest new tokens first, ties in arrival order, a request
passed over MAX_PASSOVERS times first), measured in session 16 and not taken (docs/benchmarks.md, "Session 16"): the
loop holds at most `slots` waiting requests besides the decoding ones (ContinuousAnnotation takes no more from its
feed), the window shortest-first chooses from here; the measured build chose among those whose image side was built, a
subset, and took 136 steps against the 126 replayed here on the benchmark's mix. Counts only; no timing.

    python3 docs/bench/admission_replay.py --slots 16 --mix 4,8,32,64 --images 64
"""
import argparse
import collections

MAX_PASSOVERS = 8


def continuous(lengths, slots, min_join, order="arrival"):
    feed = collections.deque(enumerate(lengths))
    held = []        # (arrival index, new tokens) waiting, in arrival order
    passed = {}      # arrival index -> admissions that passed it over
    active = []      # tokens still to generate per decoding row
    steps = row_steps = prefills = 0
    while feed or held or active:
        while len(held) < slots and feed:
            held.append(feed.popleft())
        free = slots - len(active)
        if held and free > 0 and (not active or free >= min(min_join, len(held))):
            take = min(free, len(held))
            if order == "shortest-first":
                def key(r):
                    overdue = passed.get(r[0], 0) >= MAX_PASSOVERS
                    return (0 if overdue else 1, 0 if overdue else r[1], r[0])
                joining = {r[0] for r in sorted(held, key=key)[:take]}
            else:
                joining = {r[0] for r in held[:take]}
            group = [n for i, n in held if i in joining]
            passed = {i: passed.get(i, 0) + 1 for i, _ in held if i not in joining}
            held = [r for r in held if r[0] not in joining]
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
    for order in ("arrival", "shortest-first"):
        for min_join in sorted({1, 2, max(1, a.slots // 4), a.slots // 2}):
            steps, row_steps, prefills = continuous(lengths, a.slots, min_join, order)
            print(f"continuous, {order}, join at {min_join} free: {steps} steps, {row_steps / steps:.1f} rows per "
                  f"step, {prefills} prefill runs")
    print(f"every step full: {-(-sum(n - 1 for n in lengths) // a.slots)} steps")


if __name__ == "__main__":
    main()
