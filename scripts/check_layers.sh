#!/usr/bin/env bash
# Checks netkit's layers: no header under include/netkit/ includes a header of a layer above its
# own. Exits 0 when every include goes down or sideways, 1 naming each one that goes up, 2 when
# the order cannot be read.
#
# The order is read from one place, docs/design.md: the folders listed, lowest first, in the code
# block under "## The folder tree is the layers". Every folder under include/netkit/ must be listed
# there (detail/ excepted), so a new layer is placed in the order before it can be checked.
#
#   - A header of a layer folder (core/, sys/, ...) is of that layer.
#   - A detail/ header is of the highest layer among the netkit headers it includes, following
#     other detail/ headers; one that includes none is below every layer. So a detail/ header may
#     be included by any header at or above what it needs.
#   - The umbrella headers at the top (netkit.hpp, fmt.hpp) are above every layer.
#
# Usage: scripts/check_layers.sh   (from anywhere; reads the repository it is in)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

root=include/netkit
design=docs/design.md

# --- the order --------------------------------------------------------------------------------
mapfile -t layers < <(awk '
  /^## The folder tree is the layers/ { section = 1; next }
  section && /^## / { exit }
  section && /^```/ { if (inside) exit; inside = 1; next }
  inside && match($0, /^  [a-z_]+\//) {
    name = substr($0, 3, RLENGTH - 3)
    if (name != "detail") print name
  }' "$design")

if ((${#layers[@]} == 0)); then
  echo "check_layers: no layer order found in $design (the folder list under" \
    "\"## The folder tree is the layers\")" >&2
  exit 2
fi

declare -A rank=()
for i in "${!layers[@]}"; do
  rank[${layers[i]}]=$((i + 1))
done
above_all=$((${#layers[@]} + 1))

order_ok=1
for dir in "$root"/*/; do
  name=$(basename "$dir")
  if [[ $name != detail && -z ${rank[$name]:-} ]]; then
    echo "check_layers: $root/$name/ is not in the layer order of $design" >&2
    order_ok=0
  fi
done
for name in "${layers[@]}"; do
  if [[ ! -d $root/$name ]]; then
    echo "check_layers: $design lists $name/, which is not a folder of $root/" >&2
    order_ok=0
  fi
done
((order_ok)) || exit 2

# --- the includes -----------------------------------------------------------------------------
# includes[path relative to include/] = "line:netkit/x/y.hpp ..." for each netkit include.
declare -A includes=()
mapfile -t headers < <(cd include && find netkit -name '*.hpp' | LC_ALL=C sort)
for header in "${headers[@]}"; do
  includes[$header]=$(awk '
    match($0, /^[ \t]*#[ \t]*include[ \t]*[<"]netkit\/[^>"]+[>"]/) {
      text = substr($0, RSTART, RLENGTH)
      sub(/^[^<"]*[<"]/, "", text)
      sub(/[>"]$/, "", text)
      printf "%d:%s ", FNR, text
    }' "include/$header")
done

layer_name() { # rank -> text
  if (($1 == 0)); then
    echo "below every layer"
  elif (($1 == above_all)); then
    echo "the umbrella"
  else
    echo "${layers[$1 - 1]}"
  fi
}

# The rank of every header; a detail/ header's is computed from what it includes, and why[] keeps
# the chain of includes that set it ("netkit/detail/b.hpp -> netkit/msg/c.hpp"), for the message.
declare -A header_rank=() why=()
rank_of() { # header -> sets header_rank[header]
  local header=$1 folder entry included r highest=0 reason=""
  [[ -n ${header_rank[$header]:-} ]] && return
  folder=${header#netkit/}
  if [[ $folder != */* ]]; then
    header_rank[$header]=$above_all
    return
  fi
  folder=${folder%%/*}
  if [[ $folder != detail ]]; then
    header_rank[$header]=${rank[$folder]}
    return
  fi
  header_rank[$header]=0 # in progress: a cycle among detail/ headers adds nothing
  for entry in ${includes[$header]:-}; do
    included=${entry#*:}
    [[ -n ${includes[$included]+set} ]] || continue # a missing header is reported below
    rank_of "$included"
    r=${header_rank[$included]}
    if ((r > highest)); then
      highest=$r
      reason=$included
      [[ -n ${why[$included]:-} ]] && reason+=" -> ${why[$included]}"
    fi
  done
  header_rank[$header]=$highest
  why[$header]=$reason
}

for header in "${headers[@]}"; do
  rank_of "$header"
done

# --- the check --------------------------------------------------------------------------------
bad=0
for header in "${headers[@]}"; do
  own=${header_rank[$header]}
  for entry in ${includes[$header]:-}; do
    line=${entry%%:*}
    included=${entry#*:}
    if [[ -z ${includes[$included]+set} ]]; then
      echo "include/$header:$line: includes <$included>, which does not exist" >&2
      bad=$((bad + 1))
      continue
    fi
    r=${header_rank[$included]}
    if ((r > own)); then
      message="include/$header:$line: a header of layer $(layer_name "$own") includes"
      message+=" <$included>, of layer $(layer_name "$r") above it"
      if [[ -n ${why[$included]:-} ]]; then
        message+=" (a detail/ header is of the layer of what it includes:"
        message+=" $included -> ${why[$included]})"
      fi
      echo "$message" >&2
      bad=$((bad + 1))
    fi
  done
done

order=$(
  IFS=' '
  echo "${layers[*]}"
)
if ((bad)); then
  echo "check_layers: $bad include(s) go up the layers (order, lowest first: $order;" \
    "see docs/design.md)" >&2
  exit 1
fi
echo "check_layers: ${#headers[@]} headers, every include at or below its own layer ($order)"
