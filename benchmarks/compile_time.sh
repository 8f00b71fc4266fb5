#!/usr/bin/env bash
# Compile time of netkit's headers against <asio.hpp>: `CXX -std=c++20 -O0 -fsyntax-only` of a
# file that includes one header, wall time and peak memory (max RSS of the compiler), median over
# N interleaved rounds (each round runs every case once, starting one case later than the round
# before, so no case always runs first or after the same neighbour).
#
# Cases: <netkit/netkit.hpp>; <asio.hpp>; "standard headers only", a file including exactly the
# standard and system headers that netkit's headers include (asked of the preprocessor on every
# run, so it stays true); and every public header alone (include/netkit/*.hpp and
# include/netkit/<layer>/*.hpp, not detail/ or sys/; <netkit/fmt.hpp> only when <fmt/format.h>
# is installed).
# The ratio column is the median over rounds of (case / asio.hpp) wall time within each round.
#
# Usage: benchmarks/compile_time.sh [--runs N] [--compiler CXX] [--json FILE] [--std-headers]
#                                   [--case 'NAME=HEADERS'] [--only REGEX]
#   --runs N          rounds (default 5)
#   --compiler CXX    compiler (default: $CXX, else g++)
#   --stdlib NAME     the compiler's -stdlib=NAME (libc++ with clang: the libcxx figure)
#   --json FILE       also write every round's figures to FILE
#   --std-headers     add two cases per standard C++ header in the "standard headers only" set:
#                     the header alone, and the whole set without it (what dropping it saves)
#   --case 'NAME=H1 H2 ...'   add a case including the headers H1 H2 ... (repeatable); a header
#                     written -H means "the standard headers only set without H"
#   --only REGEX      run only the cases whose name matches REGEX (asio.hpp always runs)
# Needs GNU time (/usr/bin/time, Debian package `time`) and Asio (Debian package `libasio-dev`).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

runs=5
cxx=${CXX:-g++}
json=
stdlib=
std_each=0
only=
extra=()
usage() { sed -n '/^# Usage:/,/^# Needs/s/^# \{0,1\}//p' "$0"; }
while (($#)); do
  case $1 in
    --runs) runs=${2:?--runs needs a number}; shift 2 ;;
    --compiler) cxx=${2:?--compiler needs a command}; shift 2 ;;
    --stdlib) stdlib=${2:?--stdlib needs a name}; shift 2 ;;
    --json) json=${2:?--json needs a file}; shift 2 ;;
    --std-headers) std_each=1; shift ;;
    --case) [[ ${2:-} == ?*=?* ]] || { echo "compile_time.sh: --case wants NAME=HEADERS" >&2; exit 2; }
            extra+=("$2"); shift 2 ;;
    --only) only=${2:?--only needs a regex}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "compile_time.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "compile_time.sh: --runs wants a positive integer, got '$runs'" >&2; exit 2; }

fail() { echo "compile_time.sh: $*" >&2; exit 1; }
command -v "$cxx" >/dev/null || fail "compiler '$cxx' not found"
[[ -x /usr/bin/time ]] || fail "GNU time (/usr/bin/time) is missing; install it: apt-get install time"
flags=(-std=c++20 ${stdlib:+"-stdlib=$stdlib"} -O0 -fsyntax-only -I "$root/include")
probe() { printf '#include <%s>\n' "$1" | "$cxx" "${flags[@]}" -x c++ - >/dev/null 2>&1; }
probe asio.hpp || fail "<asio.hpp> not found by $cxx (the reference case); install it: apt-get install libasio-dev"

# Standard and system headers that netkit's headers include, as the preprocessor includes them:
# -dI keeps each #include it processed in the output, so a fallback in a branch not taken (such
# as <iterator> where libstdc++'s own headers serve) is not counted.
preprocessed=$(printf '#include <netkit/netkit.hpp>\n' |
  "$cxx" -std=c++20 ${stdlib:+"-stdlib=$stdlib"} -E -dI -I "$root/include" -x c++ - 2>&1) ||
  fail "$cxx cannot preprocess <netkit/netkit.hpp>: $(tail -3 <<<"$preprocessed")"
mapfile -t std_headers < <(awk -v netkit="$root/include/netkit/" '
    /^# [0-9]+ "/ { match($0, /"[^"]*"/); file = substr($0, RSTART + 1, RLENGTH - 2); next }
    /^#include </ && index(file, netkit) == 1 && $2 !~ /^<netkit\// {
      print substr($2, 2, length($2) - 2) }' <<<"$preprocessed" | sort -u)
((${#std_headers[@]})) || fail "found no standard headers under include/netkit"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
names=() files=() asio_index=0
add_case() {  # name, header...
  local name=$1 file; shift
  [[ -n $only && $name != asio.hpp && ! $name =~ $only ]] && return
  file=$tmp/case${#names[@]}.cpp
  printf '#include <%s>\n' "$@" >"$file"
  [[ $name == asio.hpp ]] && asio_index=${#names[@]}
  names+=("$name"); files+=("$file")
}
add_case netkit.hpp netkit/netkit.hpp
add_case asio.hpp asio.hpp
add_case "standard headers only" "${std_headers[@]}"
for h in "$root"/include/netkit/*.hpp "$root"/include/netkit/*/*.hpp; do
  [[ $h == */detail/* || $h == */sys/* ]] && continue
  rel=${h#"$root"/include/}
  [[ $rel == netkit/netkit.hpp ]] && continue
  if [[ $rel == netkit/fmt.hpp ]] && ! probe fmt/format.h; then
    echo "note: <fmt/format.h> not installed, <netkit/fmt.hpp> skipped" >&2; continue
  fi
  add_case "${rel#netkit/}" "$rel"
done
if ((std_each)); then
  for h in "${std_headers[@]}"; do
    [[ $h == */* || $h == *.h ]] && continue   # C++ standard headers only, not POSIX ones
    add_case "std <$h>" "$h"
  done
  for h in "${std_headers[@]}"; do
    [[ $h == */* || $h == *.h ]] && continue
    mapfile -t rest < <(printf '%s\n' "${std_headers[@]}" | grep -vxF -- "$h")
    add_case "std set without <$h>" "${rest[@]}"
  done
fi
for spec in "${extra[@]}"; do
  read -r -a hs <<<"${spec#*=}"
  drop=() keep=()
  for h in "${hs[@]}"; do if [[ $h == -* ]]; then drop+=("${h#-}"); else keep+=("$h"); fi; done
  if ((${#drop[@]})); then
    mapfile -t rest < <(printf '%s\n' "${std_headers[@]}" | grep -vxF "${drop[@]/#/-e}")
    keep+=("${rest[@]}")
  fi
  add_case "${spec%%=*}" "${keep[@]}"
done
n=${#names[@]}

# One compile: "wall_seconds maxrss_kB" on stdout; a failing compile stops the run.
measure() {
  local out=$tmp/time.out
  if ! /usr/bin/time -o "$out" -f '%e %M' "$cxx" "${flags[@]}" "$1" 2>"$tmp/err"; then
    cat "$tmp/err" >&2; fail "compiling $2 failed"
  fi
  tail -n 1 "$out"
}

declare -A wall=() mem=()
echo "compile_time.sh: $n cases x $runs rounds, $("$cxx" --version | head -n 1), ${flags[*]:0:4}" >&2
for ((r = 0; r < runs; r++)); do
  for ((k = 0; k < n; k++)); do
    i=$(((k + r) % n))
    read -r w m < <(measure "${files[$i]}" "${names[$i]}")
    wall[$i,$r]=$w; mem[$i,$r]=$m
  done
  echo "  round $((r + 1))/$runs done" >&2
done

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
minmax() { printf '%s\n' "$@" | sort -g | awk 'NR==1{lo=$1} {hi=$1} END {printf "%.2f-%.2f", lo, hi}'; }

row() { printf '| %-24s | %24s | %13s | %12s | %12s |\n' "$@"; }
echo
printf '| %-24s | %-24s | %-13s | %-12s | %-12s |\n' case "wall s, median (min-max)" "peak MB, med." "wall vs asio" "peak vs asio"
echo '| :----------------------- | -----------------------: | ------------: | -----------: | -----------: |'
json_cases=()
for ((i = 0; i < n; i++)); do
  ws=() ms=() ratios=()
  for ((r = 0; r < runs; r++)); do
    ws+=("${wall[$i,$r]}"); ms+=("${mem[$i,$r]}")
    ratios+=("$(awk -v a="${wall[$i,$r]}" -v b="${wall[$asio_index,$r]}" 'BEGIN {print (b > 0 ? a / b : 0)}')")
  done
  w=$(median "${ws[@]}"); m=$(median "${ms[@]}"); ratio=$(median "${ratios[@]}")
  m_asio=$(median "$(for ((r = 0; r < runs; r++)); do echo "${mem[$asio_index,$r]}"; done)")
  row "${names[$i]}" "$(printf '%.2f (%s)' "$w" "$(minmax "${ws[@]}")")" \
    "$(awk -v m="$m" 'BEGIN {printf "%.0f", m / 1024}')" "$(printf '%.2fx' "$ratio")" \
    "$(awk -v m="$m" -v a="$m_asio" 'BEGIN {printf "%.2fx", m / a}')"
  json_cases+=("$(printf '{"case": "%s", "wall_s": [%s], "max_rss_kb": [%s], "median_wall_s": %s, "median_max_rss_kb": %s, "ratio_to_asio": %.4f}' \
    "${names[$i]//\"/\\\"}" "$(IFS=,; echo "${ws[*]}")" "$(IFS=,; echo "${ms[*]}")" "$w" "$m" "$ratio")")
done
echo
echo "standard headers only = $(printf '<%s> ' "${std_headers[@]}")"

if [[ -n $json ]]; then
  {
    printf '{\n  "compiler": "%s",\n  "flags": "%s",\n  "runs": %d,\n  "nproc": %d,\n  "cpu": "%s",\n' \
      "$("$cxx" --version | head -n 1)" "${flags[*]:0:4}" "$runs" "$(nproc)" \
      "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
    printf '  "standard_headers": [%s],\n' "$(printf '"%s",' "${std_headers[@]}" | sed 's/,$//')"
    printf '  "cases": [\n'
    for ((i = 0; i < n; i++)); do printf '    %s%s\n' "${json_cases[$i]}" "$( ((i < n - 1)) && echo ,)"; done
    printf '  ]\n}\n'
  } >"$json"
  echo "wrote $json" >&2
fi
