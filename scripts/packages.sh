# shellcheck shell=bash disable=SC2034  # sourced; the lists are read by the scripts that source it
# netkit's Debian (bookworm) packages: the one list, sourced by scripts/netkit and .ci/run.
# Needs nothing but bash before the packages are in (dpkg-query and apt-get when present).
#
#   netkit_packages_bench   what `cmake --workflow --preset bench` needs (no Catch2)
#   netkit_packages_test    what `cmake --workflow --preset dev` needs (every test, the API
#                           reference's included)
#   netkit_packages_ci      what .ci/run needs: the tests, plus clang, its sanitizer and
#                           libFuzzer runtimes, libc++ (the libcxx gate) and clang-format
#
#   netkit_missing JOB      sets the array netkit_missing_packages to what the machine lacks
#   netkit_install JOB      installs what is missing (apt-get: as root, or through sudo); when it
#                           cannot, prints the missing packages and the command, and returns 1
#                           having installed nothing
#
# NETKIT_EXTRA_PACKAGES (space-separated Debian names) adds packages to every job, for example
# "iperf3 gnuplot-nox" for the bulk anchor and the plots of docs/benchmarks.md.

# Package -> a command or a file that proves it is there. A package without a probe here, or
# whose probe fails, counts as present when dpkg has it installed.
declare -gA netkit_probe=(
  [cmake]="command:cmake"
  [ninja-build]="command:ninja"
  [g++]="command:g++"                                 # brings gcc too (the benchmark's C baseline)
  [catch2]="file:/usr/include/catch2/catch.hpp"
  [libfmt-dev]="file:/usr/include/fmt/format.h"
  [libasio-dev]="file:/usr/include/asio.hpp"          # the benchmark's Asio column
  [liburing-dev]="file:/usr/include/liburing.h"       # the echo benchmark's c_uring server
  [pkg-config]="command:pkg-config"                   # the consumer/pkg-config test
  [doxygen]="command:doxygen"                         # the API reference and its docs/ test
  [clang]="command:clang++"
  [libclang-rt-14-dev]="dpkg"                         # clang's TSan and libFuzzer runtimes
  [clang-format]="command:clang-format"
  [libc++-14-dev]="file:/usr/lib/llvm-14/include/c++/v1/version"  # the libcxx gate
  [libc++abi-14-dev]="dpkg"
  [python3]="command:python3"                         # the echo_server test's peer, benchmarks/echo/run.py
  [netbase]="file:/etc/services"                      # unit/resolve's service-name case (minbase lacks it)
)

netkit_packages_bench=(cmake ninja-build g++ libfmt-dev libasio-dev liburing-dev pkg-config python3)
netkit_packages_test=(cmake ninja-build g++ catch2 libfmt-dev libasio-dev liburing-dev pkg-config
  doxygen python3 netbase)
netkit_packages_ci=("${netkit_packages_test[@]}" clang libclang-rt-14-dev clang-format
  libc++-14-dev libc++abi-14-dev)

# netkit_has PACKAGE: succeeds if the package (or what its probe names) is present.
netkit_has() {
  local package=$1 how=${netkit_probe[$1]:-dpkg}
  case $how in
    command:*) command -v "${how#command:}" >/dev/null 2>&1 && return 0 ;;
    file:*) [[ -e ${how#file:} ]] && return 0 ;;
  esac
  command -v dpkg-query >/dev/null 2>&1 &&
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null) == installed ]]
}

# netkit_missing JOB: fills netkit_missing_packages.
netkit_missing() {
  if ! declare -p "netkit_packages_$1" >/dev/null 2>&1; then
    echo "netkit: no package list for the job '$1' (bench, test or ci)" >&2
    return 2
  fi
  local -n list="netkit_packages_$1"
  local package extra
  read -r -a extra <<<"${NETKIT_EXTRA_PACKAGES:-}"
  netkit_missing_packages=()
  for package in "${list[@]}" "${extra[@]}"; do
    netkit_has "$package" || netkit_missing_packages+=("$package")
  done
}

# netkit_install JOB: 0 when nothing is missing or all of it was installed; 1 otherwise.
netkit_install() {
  local job=$1
  netkit_missing "$job" || return
  local missing=("${netkit_missing_packages[@]}")
  ((${#missing[@]})) || return 0
  echo "netkit: \`$job\` needs these Debian packages, missing here: ${missing[*]}"

  local sudo=() why="" as_root="" where=""
  if ((EUID != 0)); then
    as_root="sudo "
    if ! command -v sudo >/dev/null 2>&1; then
      why="not root, and sudo is not installed"
      as_root="" where=" as root"
    elif sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    elif [[ -t 0 ]]; then
      sudo=(sudo)   # asks for the password on this terminal
    else
      why="not root, and sudo needs a password but there is no terminal to ask on"
    fi
  fi
  if [[ -z $why ]] && ! command -v apt-get >/dev/null 2>&1; then
    why="apt-get not found (this list is for Debian bookworm)"
  fi
  if [[ -z $why ]]; then
    echo "netkit: ${sudo[*]}${sudo[*]:+ }apt-get install -y --no-install-recommends ${missing[*]}"
    if "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null &&
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null; then
      netkit_missing "$job"
      ((${#netkit_missing_packages[@]})) || return 0
      missing=("${netkit_missing_packages[@]}")
      why="apt-get succeeded, but these are still missing"
    else
      why="apt-get failed (see its message above)"
    fi
  fi
  {
    echo "netkit: cannot install what \`$job\` needs: $why."
    echo "netkit: missing Debian packages: ${missing[*]}"
    echo "netkit: install them$where, then run this again:"
    echo "    ${as_root}apt-get update && ${as_root}apt-get install -y ${missing[*]}"
  } >&2
  return 1
}
