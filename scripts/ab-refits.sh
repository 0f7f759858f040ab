#!/bin/sh
# One side of a model A/B on recorded windows: refit each calibration window
# with CHECKOUT's model (a git worktree: the base commit, or it with the
# change applied) and validate each refit on every validation window's
# held-out runs (docs/validation.md, "Twenty-second session").
# Usage, from the repository root:
#   sh scripts/ab-refits.sh CHECKOUT OUT "53 54 55 57" "53 54 55 56 57" [PATTERN]
# writes OUT/wN (the refit of window N) and OUT/wN/on-wM (its validation on M).
# PATTERN picks the files of each window's measurements and held-out runs
# (default *.json, all; ttas-*.json: the lock microbenchmark alone).
set -eu
M=$(pwd)/measurements
R=${1:?usage: sh scripts/ab-refits.sh CHECKOUT OUT CAL_WINDOWS VAL_WINDOWS}
O=${2:?usage: sh scripts/ab-refits.sh CHECKOUT OUT CAL_WINDOWS VAL_WINDOWS}
cals=${3:?usage: sh scripts/ab-refits.sh CHECKOUT OUT CAL_WINDOWS VAL_WINDOWS}
vals=${4:?usage: sh scripts/ab-refits.sh CHECKOUT OUT CAL_WINDOWS VAL_WINDOWS}
pat=${5:-*.json}
mkdir -p "$O"
O=$(cd "$O" && pwd)
cd "$R"
for w in $cals; do
  ./bin/locksim.js calibrate $(ls "$M/this-host-w$w/measurements/"$pat) -o "$O/w$w" > "$O/w$w.log" 2>&1
  for h in $vals; do
    ./bin/locksim.js validate "$M/this-host-w$h/heldout/"$pat --calibration "$O/w$w/calibration.json" -o "$O/w$w/on-w$h" > /dev/null 2>&1
  done
done
