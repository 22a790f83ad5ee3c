#!/usr/bin/env bash
# make demo: two parties (US, RU) exchange every measure through real bundle files.
# Each step lives in sample-data/demo.d/NN-*.sh and is sourced in order; they share the helpers below.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="${DEMO_OUT:-demo-out}"
rm -rf "$OUT"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
export CBM_PASSPHRASE_US="demo-us-passphrase" CBM_PASSPHRASE_RU="demo-ru-passphrase"

us() { CBM_PASSPHRASE="$CBM_PASSPHRASE_US" cbm --store "$OUT/us" "$@"; }
ru() { CBM_PASSPHRASE="$CBM_PASSPHRASE_RU" cbm --store "$OUT/ru" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

# send FROM TO: FROM exports a bundle for TO into a real file, TO imports it.
send() {
  local from="$1" to="$2" upper
  upper=$(echo "$to" | tr a-z A-Z)
  local file="$OUT/$(date -u +%H%M%S%N)-$from-to-$to.cbm"
  "$from" bundle export --to "$upper" -o "$file"
  "$to" bundle import "$file"
}

for part in "$HERE"/demo.d/[0-9]*.sh; do
  # shellcheck source=/dev/null
  source "$part"
done
step "done: stores and bundle files are in $OUT"
