#!/usr/bin/env bash
# Bulk anchor: iperf3 over loopback TCP against netkit's bulk mode (64 KiB send_all on one
# connection, a receiver thread draining), alternating, several rounds, with the SAME thread
# placement on both sides:
#   pinned   -- sender on the first allowed CPU, receiver on the second (netkit's default;
#               iperf3's client and server under taskset);
#   unpinned -- both left to the scheduler (netkit --no-pin, iperf3 as it is).
# Placement alone moves loopback TCP by up to 1.6x on a 2-core VM, so comparing a pinned netkit
# with an unpinned iperf3 would measure the scheduler, not the code.
# Prints each round and, per placement, the medians and the median of the per-round ratios.
# Usage: benchmarks/iperf3_anchor.sh [seconds per run] [rounds] [path/to/send_vs_sendmsg]
set -euo pipefail
seconds=${1:-3}
rounds=${2:-3}
bench=${3:-build/release/benchmarks/send_vs_sendmsg}
command -v iperf3 >/dev/null || { echo "iperf3 is not installed (apt-get install iperf3)"; exit 1; }

read -r sender_cpu receiver_cpu < <(python3 -c \
  'import os; c = sorted(os.sched_getaffinity(0)); print(c[0], c[1] if len(c) > 1 else c[0])')

# iperf3 for $seconds; prints Gbit/s received. $1/$2: command prefixes for server and client.
iperf_once() {
  local server_prefix=$1 client_prefix=$2
  local port=$((20000 + RANDOM % 20000))
  $server_prefix iperf3 -s -1 -p "$port" >/dev/null 2>&1 &
  local server=$!
  # Ready when the port is listening (bounded: about 5 s of polls).
  for _ in $(seq 500); do
    ss -Hltn "sport = :$port" | grep -q . && break
    sleep 0.01
  done
  $client_prefix iperf3 -c 127.0.0.1 -p "$port" -t "$seconds" -l 64K -J | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9)'
  wait "$server" 2>/dev/null || true
}

netkit_once() {
  "$bench" --bulk "$seconds" "$@" | awk '{print $3}'
}

report() {
  python3 - "$@" <<'EOF'
import statistics, sys
name, values = sys.argv[1], [float(v) for v in sys.argv[2:]]
half = len(values) // 2
iperf, netkit = values[:half], values[half:]
ratios = [n / i for n, i in zip(netkit, iperf)]
print(f"{name:9} iperf3 median {statistics.median(iperf):6.2f} Gbit/s   netkit bulk median "
      f"{statistics.median(netkit):6.2f} Gbit/s   netkit/iperf3 (median of rounds) "
      f"{statistics.median(ratios):.3f}   rounds: " +
      " ".join(f"{r:.2f}" for r in ratios))
EOF
}

for placement in pinned unpinned; do
  iperf_runs=()
  netkit_runs=()
  for round in $(seq "$rounds"); do
    if [[ $placement == pinned ]]; then
      iperf_runs+=("$(iperf_once "taskset -c $receiver_cpu" "taskset -c $sender_cpu")")
      netkit_runs+=("$(netkit_once)")
    else
      iperf_runs+=("$(iperf_once "" "")")
      netkit_runs+=("$(netkit_once --no-pin)")
    fi
    printf '  %s round %d: iperf3 %.2f Gbit/s, netkit %.2f Gbit/s\n' "$placement" "$round" \
      "${iperf_runs[-1]}" "${netkit_runs[-1]}"
  done
  report "$placement" "${iperf_runs[@]}" "${netkit_runs[@]}"
done
