#!/usr/bin/env python3
"""Renders an echo benchmark JSON (run.py --json) as a PNG with gnuplot: per cell, each server's
CPU time per request (user and system together, the primary figure) and its requests per second,
medians over rounds.
Usage: benchmarks/echo/plot.py echo.json docs/echo.png"""
import json
import os
import statistics
import subprocess
import sys
import tempfile

data = json.load(open(sys.argv[1]))
records = data["records"] if isinstance(data, dict) else data
order = [s for s in ("netkit", "netkit_co", "c", "c_idle", "asio", "asio_co")
         if any(r["server"] == s for r in records)]
cells = sorted({(r["connections"], r["size"], r["mode"]) for r in records})


def median(cell, server, field):
    values = [r[field] for r in records
              if (r["connections"], r["size"], r["mode"]) == cell and r["server"] == server]
    return statistics.median(values) if values else float("nan")


tmp = tempfile.mkdtemp()
path = os.path.join(tmp, "echo.dat")
with open(path, "w") as f:
    for cell in cells:
        label = f'"{cell[0]}x{cell[1]}B {"pp" if cell[2] == "pingpong" else "pipe"}"'
        cpu = [median(cell, s, "server_cpu_us_per_request") for s in order]
        rps = [median(cell, s, "requests_per_s") / 1e3 for s in order]
        f.write(label + " " + " ".join(f"{v:.4f}" for v in cpu + rps) + "\n")

n = len(order)
machine = data.get("machine", "") if isinstance(data, dict) else ""
script = [
    'set terminal pngcairo size 1400,900 font ",9" noenhanced', f'set output "{sys.argv[2]}"',
    f'set multiplot layout 2,1 title "echo: one server thread on CPU 0, the load generator on CPU 1 '
    f'(medians of rounds; {machine} {data.get("kernel", "") if isinstance(data, dict) else ""})"',
    "set style data histograms", "set style histogram clustered gap 1", "set style fill solid 0.8",
    "set boxwidth 0.9", "set xtics rotate by -30", "set grid ytics", "set key outside right top",
    "set logscale y", 'set ylabel "server CPU µs per request (log)"',
    'set title "CPU time per request, user + system (lower is better)"',
    "plot " + ", ".join(f'"{path}" using {2 + i}:xtic(1) title "{s}"' for i, s in enumerate(order)),
    'set ylabel "thousands of requests per second (log)"',
    'set title "Requests per second (higher is better)"',
    "plot " + ", ".join(f'"{path}" using {2 + n + i}:xtic(1) title "{s}"'
                        for i, s in enumerate(order)),
    "unset multiplot",
]
subprocess.run(["gnuplot"], input="\n".join(script), text=True, check=True)
print(sys.argv[2])
