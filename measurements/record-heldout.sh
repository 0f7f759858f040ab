#!/bin/sh
# Records the held-out set that `locksim validate` predicts with a calibration
# made by `locksim calibrate --record` (docs/validation.md, "Calibration
# recorded in one command (issue 13)"). Run as root from the repository root:
#   [REPEAT=n] sh measurements/record-heldout.sh OUTDIR
# Repeats are interleaved (every configuration once, then all again) so the
# machine's drift over minutes spreads over every configuration alike; one
# file per run, NAME.rR.json (validate merges the files of one configuration).
# Its configurations are none of the calibration set's (validate refuses those).
# `locksim calibrate --record DIR --validate` records the same set (HELDOUT_SETS in
# src/host/recordCalibration.ts) pass for pass with the calibration set, which keeps the
# machine's drift within a window out of the comparison (docs/validation.md, "Fifteenth session").
set -eu
out=${1:?usage: record-heldout.sh OUTDIR}
mkdir -p "$out"
ls=./bin/locksim.js
load() { echo "$(date -u +%FT%TZ) $1 $(cat /proc/loadavg)" >> "$out/load.log"; }
r=1
while [ $r -le "${REPEAT:-5}" ]; do
  for K in 2 8 32 64; do for L in 1 25 100; do
    load "mountstorm per-layer-idmap K=$K L=$L run $r"
    "$ls" measure mountstorm --variant per-layer-idmap -K $K -L $L -o "$out/per-layer-idmap-K$K-L$L.r$r.json" > /dev/null
  done; done
  for K in 1 8 32; do
    load "mountstorm common-parent K=$K L=50 run $r"
    "$ls" measure mountstorm --variant common-parent -K $K -L 50 -o "$out/common-parent-K$K-L50.r$r.json" > /dev/null
  done
  # The runtime's shape (one process per container, the inspection overlay
  # unmounted): none of the calibration set's (which has common-parent K=1, 4).
  for K in 8 32; do
    load "mountstorm common-parent K=$K L=50 processes unmount-inspection run $r"
    "$ls" measure mountstorm --variant common-parent -K $K -L 50 --processes --unmount-inspection -o "$out/common-parent-K$K-L50-unmount-processes.r$r.json" > /dev/null
  done
  load "mountstorm per-layer-idmap K=8 L=25 processes unmount-inspection run $r"
  "$ls" measure mountstorm --variant per-layer-idmap -K 8 -L 25 --processes --unmount-inspection -o "$out/per-layer-idmap-K8-L25-unmount-processes.r$r.json" > /dev/null
  for cs in 10 100 400; do
    load "lockbench cs=$cs run $r"
    "$ls" measure lockbench --lock ttas --threads 2 --cs $cs --duration 500 -o "$out/ttas-t2-cs$cs-run$r.json" > /dev/null
  done
  # The protected counter on the lock's line (false sharing).
  for cs in 0 100; do
    load "lockbench cs=$cs same-line run $r"
    "$ls" measure lockbench --lock ttas --threads 2 --cs $cs --duration 500 --data same-line -o "$out/ttas-t2-cs$cs-same-line-run$r.json" > /dev/null
  done
  r=$((r + 1))
done
# Held-out traces are not read (validate regenerates the ops, checking the counts).
find "$out" -name '*.trace.jsonl' -delete
