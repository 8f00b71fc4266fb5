#!/usr/bin/env bash
# Bulk anchor: iperf3 over loopback TCP, then netkit's bulk mode (64 KiB send_all on one
# connection) for the same time, back to back; prints both and the ratio.
# Usage: benchmarks/iperf3_anchor.sh [seconds] [build/release/benchmarks/send_vs_sendmsg]
set -euo pipefail
seconds=${1:-5}
bench=${2:-build/release/benchmarks/send_vs_sendmsg}
command -v iperf3 >/dev/null || { echo "iperf3 is not installed (apt-get install iperf3)"; exit 1; }
port=$((20000 + RANDOM % 20000))
iperf3 -s -1 -p "$port" >/dev/null 2>&1 &
server=$!
# Ready when the port is listening (bounded: about 5 s of polls).
for _ in $(seq 500); do
  ss -Hltn "sport = :$port" | grep -q . && break
  sleep 0.01
done
iperf=$(iperf3 -c 127.0.0.1 -p "$port" -t "$seconds" -l 64K -J | python3 -c \
  'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9)')
wait "$server" 2>/dev/null || true
netkit=$("$bench" --bulk "$seconds" | awk '{print $3}')
awk -v i="$iperf" -v n="$netkit" 'BEGIN { printf "iperf3: %.2f Gbit/s   netkit bulk: %.2f Gbit/s   netkit/iperf3: %.3f\n", i, n, n/i }'
