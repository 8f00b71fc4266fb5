#!/usr/bin/env bash
# Instructions per datagram, netkit against hand-written C, on each side of every cell of the
# UDP batching benchmark: the stable proof of overhead that wall-clock rates on a shared machine
# cannot give. Each program runs once under callgrind with a fixed datagram count; its sender
# thread's instructions are divided by the datagrams sent and its receiver thread's by those
# received (loopback may drop some under valgrind's serialised threads, so per datagram, not in
# total). Both programs fill and check datagrams with the same pattern.h code, so the difference
# is the socket calls and what the library does around them.
#
# Usage: benchmarks/udp_batch/callgrind.sh [BUILD_DIR] [SIZE] [COUNT]
#   BUILD_DIR defaults to build/dev (the benchmark targets are -O2 in every build type).
set -euo pipefail
build=${1:-build/dev}
size=${2:-1200}
count=${3:-200000}
dir=$build/benchmarks/udp_batch
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is not installed" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Thread 2 is the receiver (started first), thread 3 the sender, in both programs.
thread_total() {
    # awk reads to the end: leaving early would fail the pipeline (SIGPIPE, with pipefail).
    callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ && !seen { gsub(",", "", $1); print $1; seen = 1 }'
}

printf 'size %s, %s datagrams, %s\n' "$size" "$count" "$(uname -r)"
printf '%-9s %-9s | %12s %12s %8s | %12s %12s %8s\n' send recv \
    "C send/dg" "nk send/dg" ratio "C recv/dg" "nk recv/dg" ratio
for cell in "sendto recvfrom" "sendmmsg recvmmsg" "gso recvfrom" "gso recvmmsg" "gso gro" \
    "gso gro_mmsg"; do
    read -r send recv <<<"$cell"
    declare -A per
    for impl in c netkit; do
        rm -f "$out"/cg.*
        json=$(valgrind --tool=callgrind --separate-threads=yes \
            --callgrind-out-file="$out/cg.%p" "$dir/udp_batch_$impl" --send "$send" \
            --recv "$recv" --size "$size" --seconds 600 --count "$count" 2>/dev/null)
        sent=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["sent"])' "$json")
        received=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["received"])' "$json")
        receiver=$(thread_total "$(ls "$out"/cg.*-02)")
        sender=$(thread_total "$(ls "$out"/cg.*-03)")
        per[$impl.send]=$(python3 -c "print(f'{$sender / $sent:.1f}')")
        per[$impl.recv]=$(python3 -c "print(f'{$receiver / max($received, 1):.1f}')")
    done
    printf '%-9s %-9s | %12s %12s %8s | %12s %12s %8s\n' "$send" "$recv" \
        "${per[c.send]}" "${per[netkit.send]}" \
        "$(python3 -c "print(f'{${per[netkit.send]} / ${per[c.send]}:.3f}')")" \
        "${per[c.recv]}" "${per[netkit.recv]}" \
        "$(python3 -c "print(f'{${per[netkit.recv]} / ${per[c.recv]}:.3f}')")"
done
