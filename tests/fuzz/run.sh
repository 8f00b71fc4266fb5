#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a bounded time over
# its seed corpus, two targets at a time (one per core of the CI machine). A crash, a sanitizer
# report or an abort fails the run.
# Usage: tests/fuzz/run.sh [seconds per target, default 30]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${1:-30}
out=${NETKIT_FUZZ_DIR:-$root/build/fuzz}
mkdir -p "$out"

# Builds and runs one target; its report goes to $out/<target>.report, printed once both of a
# pair have finished so that the two do not interleave.
fuzz_one() {
  local target=$1 report="$out/$1.report"
  {
    echo "== fuzz $target (${seconds}s)"
    clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined \
            -fno-sanitize-recover=undefined -I"$root/include" "$here/${target}_fuzz.cpp" \
            -o "$out/${target}_fuzz" 2>&1 || { echo "== fuzz $target: build FAILED"; return 1; }
    local work="$out/corpus-$target"
    rm -rf "$work"
    cp -r "$here/corpus/$target" "$work" # new inputs go to a scratch copy, not the repository
    local log="$out/$target.log"
    if "$out/${target}_fuzz" -max_total_time="$seconds" -print_final_stats=1 \
                             -artifact_prefix="$out/$target-" "$work" >"$log" 2>&1; then
      grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$log"
    else
      # The sanitizer report and the crashing input's file name are near the end.
      tail -n 80 "$log"
      echo "== fuzz $target FAILED (crashing input saved under $out/$target-*)"
      return 1
    fi
  } >"$report" 2>&1
}

failed=0
run_pair() {
  local pids=() target
  for target in "$@"; do
    fuzz_one "$target" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do
    wait "$pid" || failed=1
  done
  for target in "$@"; do
    cat "$out/$target.report"
  done
}
run_pair endpoint control
run_pair gro error_queue
exit "$failed"
