#!/usr/bin/env bash
# System calls per message, counted by strace: gather is one sendmsg per message, per-fragment
# is K sends per message; Asio's gather is shown beside netkit's.
# Usage: benchmarks/syscalls.sh [build/release/benchmarks/send_vs_sendmsg]
set -euo pipefail
bench=${1:-build/release/benchmarks/send_vs_sendmsg}
messages=1000
for impl in netkit raw-c asio; do
  for variant in send-per-fragment sendmsg-gather; do
    for k in 16 64; do
      out=$(strace -f -c -e trace=sendto,sendmsg,writev,write "$bench" --transport tcp --variant "$variant" \
              --impl "$impl" --size 64 --fragments "$k" --messages "$messages" 2>&1 >/dev/null | \
            awk '$NF ~ /^(sendto|sendmsg|writev|write)$/ {printf "%s=%s ", $NF, $4}')
      echo "tcp S=64 K=$k $impl $variant, $messages messages: $out"
    done
  done
done
