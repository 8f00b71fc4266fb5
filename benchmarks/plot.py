#!/usr/bin/env python3
"""Renders the benchmark JSON as PNG plots with gnuplot: netkit throughput against fragment
size, one line per strategy, one panel per (transport, K).
Usage: benchmarks/plot.py send_vs_sendmsg.json docs/send_vs_sendmsg.png"""
import json, os, statistics, subprocess, sys, tempfile

data = json.load(open(sys.argv[1]))
out = sys.argv[2]
panels = {}
for cell in data["cells"]:
    key = (cell["transport"], cell["fragments"])
    for v in cell["variants"]:
        if v["impl"] != "netkit":
            continue
        g = statistics.median(r["gbps"] for r in v["rounds"])
        panels.setdefault(key, {}).setdefault(v["strategy"], []).append((cell["size"], g))
keys = sorted(panels, key=lambda k: (["tcp", "unix", "udp"].index(k[0]), k[1]))
columns = len({k[1] for k in keys})
rows = (len(keys) + columns - 1) // columns
tmp = tempfile.mkdtemp()
script = [f'set terminal pngcairo size {420*columns},{300*rows} font ",9"', f'set output "{out}"',
          f'set multiplot layout {rows},{columns} title "netkit: send per fragment vs copy+send vs sendmsg gather vs adaptive ({data["mode"]}, {data["machine"]})"',
          'set logscale x 2', 'set xlabel "fragment size S (bytes)"', 'set ylabel "GB/s"', 'set key top left', 'set grid']
for i, key in enumerate(keys):
    plots = []
    for strategy in ["send-per-fragment", "copy-then-send", "sendmsg-gather", "adaptive",
                     "sendmsg-zerocopy"]:
        points = sorted(panels[key].get(strategy, []))
        if not points:
            continue
        path = os.path.join(tmp, f"{i}-{strategy}.dat")
        with open(path, "w") as f:
            f.writelines(f"{s} {g}\n" for s, g in points)
        plots.append(f'"{path}" using 1:2 with linespoints title "{strategy}"')
    script.append(f'set title "{key[0]}, K={key[1]}"')
    script.append("plot " + ", ".join(plots))
script.append("unset multiplot")
subprocess.run(["gnuplot"], input="\n".join(script), text=True, check=True)
print(out)
