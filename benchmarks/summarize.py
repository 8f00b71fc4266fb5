#!/usr/bin/env python3
"""Checks a send_vs_sendmsg JSON file against the benchmark targets and prints the figures quoted
in docs/benchmarks.md: every ratio is computed within a round, then the median over rounds is
taken, exactly as the benchmark's own table does.
Usage: benchmarks/summarize.py send_vs_sendmsg.json"""
import json
import statistics
import sys

data = json.load(open(sys.argv[1]))
TCP_HEADLINE = ("tcp", 64, 16)


def runs(cell, strategy, impl):
    for v in cell["variants"]:
        if v["strategy"] == strategy and v["impl"] == impl:
            return [r["messages_per_second"] for r in v["rounds"]]
    return None


def ratio(cell, a, b):
    """Median over rounds of a/b, a and b being (strategy, impl); None when one is missing."""
    ra, rb = runs(cell, *a), runs(cell, *b)
    if ra is None or rb is None:
        return None
    return statistics.median(x / y for x, y in zip(ra, rb) if y > 0)


def describe(values, low, high=None):
    values = sorted(values)
    text = f"median {statistics.median(values):.3f} over {len(values)} cells; "
    text += f"{sum(v < low for v in values)} below {low}"
    if high is not None:
        text += f", {sum(v > high for v in values)} above {high}"
    return text + f" (min {values[0]:.3f}, max {values[-1]:.3f})"


STRATEGIES = ["send-per-fragment", "copy-then-send", "sendmsg-gather"]
cells = data["cells"]
print(f"{data['mode']} grid, {data['rounds']} rounds, {data['machine']}, {data['compiler']} "
      f"{data['flags']}, threads: {data.get('threads', 'not recorded')}")

for cell in cells:
    if (cell["transport"], cell["size"], cell["fragments"]) == TCP_HEADLINE:
        headline = ratio(cell, ("sendmsg-gather", "netkit"), ("send-per-fragment", "netkit"))
        print(f"gather / per fragment, tcp S=64 K=16: {headline:.2f}x (target >= 8)")

nk_c = [r for cell in cells for s in STRATEGIES
        if (r := ratio(cell, (s, "netkit"), (s, "raw-c"))) is not None]
print(f"netkit / C, every strategy: {describe(nk_c, 0.97, 1.03)} (target >= 0.97 in every cell)")

big = [r for cell in cells if cell["size"] >= 4096 and cell["fragments"] >= 4
       if (r := ratio(cell, ("sendmsg-gather", "netkit"), ("copy-then-send", "netkit"))) is not None]
print(f"gather / copy, S >= 4Ki and K >= 4: {describe(big, 1.0)} (target >= 1.0)")

nk_asio = [r for cell in cells
           if (r := ratio(cell, ("sendmsg-gather", "netkit"), ("sendmsg-gather", "asio"))) is not None]
if nk_asio:
    print(f"netkit / Asio, gather: {describe(nk_asio, 1.0)} (target >= 1.0 in every cell)")

best = []
for cell in cells:
    adaptive = runs(cell, "adaptive", "netkit")
    copied = runs(cell, "copy-then-send", "netkit")
    gathered = runs(cell, "sendmsg-gather", "netkit")
    if adaptive and copied and gathered:
        value = statistics.median(a / max(c, g) for a, c, g in zip(adaptive, copied, gathered))
        best.append(value)
        if value < 0.97:
            print(f"  adaptive misses: {cell['transport']} S={cell['size']} K={cell['fragments']}: "
                  f"{value:.3f} of the better of copy and gather")
if best:
    print(f"adaptive / max(copy, gather): {describe(best, 0.97)} (target >= 0.97 in every cell)")

for cell in cells:
    zc = [v for v in cell["variants"] if v["strategy"] == "sendmsg-zerocopy"]
    if zc:
        z = ratio(cell, ("sendmsg-zerocopy", "netkit"), ("sendmsg-gather", "netkit"))
        last = zc[0]["rounds"][-1]
        print(f"zerocopy / gather, {cell['transport']} S={cell['size']} K={cell['fragments']}: "
              f"{z:.3f} ({last.get('completions')} of {last.get('zerocopy_sends')} sends completed, "
              f"{last.get('copied')} copied, {last.get('fallbacks')} fallbacks, last round)")

spreads = sorted(max(v) / min(v) - 1 for cell in cells for impl in ("netkit", "raw-c", "asio")
                 for s in STRATEGIES if (v := runs(cell, s, impl)) and min(v) > 0)
p90 = spreads[int(0.9 * (len(spreads) - 1))]
print(f"spread of one variant over its rounds (max/min - 1): median {statistics.median(spreads):.0%}, "
      f"90th percentile {p90:.0%}, over {len(spreads)} variants")
