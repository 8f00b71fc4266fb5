#!/usr/bin/env bash
# Regenerates every figure in docs/benchmarks.md: the table (quick or full grid), its JSON and
# plot, the target summary, the strace counts, the callgrind comparison and the iperf3 anchor.
# Usage: benchmarks/run_report.sh [--quick|--full]
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:---quick}
cmake --preset release >/dev/null
cmake --build build/release --target send_vs_sendmsg >/dev/null
bench=build/release/benchmarks/send_vs_sendmsg
"$bench" "$mode" --json build/release/send_vs_sendmsg.json
python3 benchmarks/summarize.py build/release/send_vs_sendmsg.json
python3 benchmarks/plot.py build/release/send_vs_sendmsg.json docs/send_vs_sendmsg.png
benchmarks/syscalls.sh "$bench"
benchmarks/callgrind.sh "$bench"
benchmarks/iperf3_anchor.sh 3 5 "$bench"
