#!/usr/bin/env bash
# User-space instructions per message of netkit's send loops against the hand-written C loops,
# counted by callgrind (deterministic: the same binary and inputs give the same count). Only the
# sender loop functions are counted (--toggle-collect), so thread start-up and the receiver do
# not dilute the comparison.
# Usage: benchmarks/callgrind.sh [build/release/benchmarks/send_vs_sendmsg]
set -euo pipefail
bench=${1:-build/release/benchmarks/send_vs_sendmsg}
messages=20000
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
count() { # impl variant transport size fragments
  local pattern
  case $1 in netkit) pattern='*netkit_send_loop*' ;; raw-c) pattern='*raw_send_loop*' ;; esac
  valgrind --tool=callgrind --callgrind-out-file="$work/out" --toggle-collect="$pattern" \
    "$bench" --transport "$3" --variant "$2" --impl "$1" --size "$4" --fragments "$5" --messages "$messages" \
    >/dev/null 2>"$work/log"
  awk '/^summary:|^totals:/ {print $2; exit}' "$work/out"
}
printf '%-6s %-18s %5s %3s | %14s %14s | %s\n' transport variant S K "netkit Ir/msg" "raw C Ir/msg" "netkit/C"
for cell in "tcp 64 1" "tcp 64 16" "udp 64 16" "unix 1024 16"; do
  set -- $cell
  for variant in send-per-fragment copy-then-send sendmsg-gather; do
    nk=$(count netkit "$variant" "$1" "$2" "$3")
    c=$(count raw-c "$variant" "$1" "$2" "$3")
    awk -v t="$1" -v v="$variant" -v s="$2" -v k="$3" -v nk="$nk" -v c="$c" -v m="$messages" \
      'BEGIN { printf "%-6s %-18s %5s %3s | %14.1f %14.1f | %.3f\n", t, v, s, k, nk/m, c/m, nk/c }'
  done
done
