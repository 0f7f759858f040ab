#!/bin/sh
# compare.sh OLD_COMMIT (root, repository root): the mountstorm probe as of
# OLD_COMMIT against the working tree's build, alternated, five runs each of
# four storms; prints each run's mean launch (us).
set -eu
old=${1:?usage: sh measurements/probe-arena-2026-12-01/compare.sh OLD_COMMIT}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
git show "$old:probes/mountstorm.c" > "$tmp/mountstorm.c"
cc_inc="-I$(pwd)/probes"
cc -O2 -pthread -Wall $cc_inc -o "$tmp/mountstorm-old" "$tmp/mountstorm.c"
mean() { "$1" --variant per-layer-idmap --containers "$2" --layers "$3" | sed -n 's/.*"meanNs":\([0-9]*\).*/\1/p'; }
for cfg in "8 1" "64 1" "8 25" "32 50"; do
  set -- $cfg; o=""; n=""
  for i in 1 2 3 4 5; do
    o="$o $(( $(mean "$tmp/mountstorm-old" $1 $2) / 1000 ))"
    n="$n $(( $(mean probes/build/mountstorm $1 $2) / 1000 ))"
  done
  echo "K=$1 L=$2 before (us):$o | after (us):$n"
done
