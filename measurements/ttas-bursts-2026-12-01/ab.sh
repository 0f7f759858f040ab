#!/bin/sh
# The lockbench-only A/B of docs/tried/ttas-release-visible-at-fill.patch: refit each
# window's TTAS calibration runs with one checkout, validate on every window's held-out
# TTAS runs. Usage, from the repository root: sh measurements/ttas-bursts-2026-12-01/ab.sh CHECKOUT OUT
set -eu
M=$(pwd)/measurements
R=$1; O=$2
mkdir -p "$O"
cd "$R"
for w in 53 54 55 56 57; do
  ./bin/locksim.js calibrate $M/this-host-w$w/measurements/ttas-*.json -o "$O/w$w" > "$O/w$w.log" 2>&1
  for h in 53 54 55 56 57; do
    ./bin/locksim.js validate $M/this-host-w$h/heldout/ttas-*.json --calibration "$O/w$w/calibration.json" -o "$O/w$w/on-w$h" > /dev/null 2>&1
  done
done
