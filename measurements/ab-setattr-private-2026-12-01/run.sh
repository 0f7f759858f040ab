#!/bin/sh
# The A/B of the third try of docs/tried/probe-setattr-ms-private.patch (its fit.ts hunk: the probe storms replayed with idmapPropagation private) (docs/validation.md,
# "Twenty-second session"): refit the clean windows w53, w54, w55, w57 with one
# checkout and validate each refit on the held-out runs of w53-w57.
# Usage, from the repository root: sh measurements/ab-setattr-private-2026-12-01/run.sh CHECKOUT OUT
# (CHECKOUT: a worktree at 482c38f for "base", the same with the patch applied for "priv").
set -eu
M=$(pwd)/measurements
R=$1; O=$2
mkdir -p "$O"
cd "$R"
for w in 53 54 55 57; do
  ./bin/locksim.js calibrate $(ls $M/this-host-w$w/measurements/*.json) -o "$O/w$w" > "$O/w$w.log" 2>&1
  for h in 53 54 55 56 57; do
    ./bin/locksim.js validate $M/this-host-w$h/heldout/*.json --calibration "$O/w$w/calibration.json" -o "$O/w$w/on-w$h" > /dev/null 2>&1
  done
done
