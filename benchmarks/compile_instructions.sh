#!/usr/bin/env bash
# The compiler's own work for including netkit, in instructions: cc1plus (the C++ front end that
# g++ runs) under callgrind, `-std=c++20 -O0 -fsyntax-only`, for a file that includes only
# <netkit/netkit.hpp>, one that includes only <asio.hpp>, and any headers given. Unlike wall time
# (compile_time.sh), an instruction count does not move with the machine's load: it is the
# figure to compare two versions of a header by. Each count takes about 20-60 s.
#
# Usage: benchmarks/compile_instructions.sh [--include DIR] [--without HEADER]... [HEADER...]
#   --include DIR      netkit's include directory (default: include/ of this checkout), for
#                      comparing another version of the headers
#   --without HEADER   also count <netkit/netkit.hpp> without one of its includes (repeatable):
#                      what that header, and what only it includes, adds to the umbrella
#   HEADER             also count a file that includes only HEADER (netkit/io/poller.hpp, vector)
# Needs valgrind (Debian package `valgrind`), g++, and Asio (`libasio-dev`).
set -euo pipefail
caller=$PWD
cd "$(dirname "$0")/.."

include=$PWD/include
without=()
headers=()
while (($#)); do
  case $1 in
    --include) include=$(cd "$caller" && cd "${2:?--include needs a directory}" && pwd); shift 2 ;;
    --without) without+=("${2:?--without needs a header}"); shift 2 ;;
    -h|--help) sed -n '/^# Usage:/,/^# Needs/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    -*) echo "compile_instructions.sh: unknown option '$1'" >&2; exit 2 ;;
    *) headers+=("$1"); shift ;;
  esac
done

fail() { echo "compile_instructions.sh: $*" >&2; exit 1; }
command -v valgrind >/dev/null || fail "valgrind is missing; install it: apt-get install valgrind"
cc1plus=$(g++ -print-prog-name=cc1plus)
[[ -x $cc1plus ]] || fail "g++ has no cc1plus ($cc1plus)"
multiarch=$(g++ -print-multiarch)
umbrella=$include/netkit/netkit.hpp
[[ -f $umbrella ]] || fail "no netkit/netkit.hpp under $include"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The front end as the g++ driver runs it for -fsyntax-only (`g++ -###`), without the driver.
count() {  # file.cpp -> millions of instructions
  local out
  out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$cc1plus" -quiet \
          -I "$include" ${multiarch:+-imultiarch "$multiarch"} -D_GNU_SOURCE "$1" -O0 -std=c++20 \
          -fsyntax-only -o /dev/null 2>&1) || fail "cc1plus failed on $1: $(tail -3 <<<"$out")"
  awk '/Collected/ { printf "%.1f", $4 / 1e6 }' <<<"$out"
}

row() {  # name, file
  local n
  n=$(count "$2")
  printf '| %-56s | %10s |\n' "$1" "$n"
}

printf '#include <netkit/netkit.hpp>\n' >"$tmp/netkit.cpp"
printf '#include <asio.hpp>\n' >"$tmp/asio.cpp"
echo "compile_instructions.sh: $(g++ --version | head -1), cc1plus -std=c++20 -O0 -fsyntax-only"
echo
printf '| %-56s | %10s |\n' "file includes" "M instr."
printf '| :%s | %s: |\n' "$(printf '%.0s-' {1..55})" "$(printf '%.0s-' {1..9})"
row "<netkit/netkit.hpp>" "$tmp/netkit.cpp"
row "<asio.hpp>" "$tmp/asio.cpp"
i=0
for h in "${without[@]}"; do
  grep -q "#include <$h>" "$umbrella" || fail "<netkit/netkit.hpp> does not include <$h>"
  grep '#include' "$umbrella" | grep -vF "<$h>" >"$tmp/without$i.cpp"
  row "<netkit/netkit.hpp> without <$h>" "$tmp/without$i.cpp"
  i=$((i + 1))
done
for h in "${headers[@]}"; do
  printf '#include <%s>\n' "$h" >"$tmp/header$i.cpp"
  row "<$h>" "$tmp/header$i.cpp"
  i=$((i + 1))
done
