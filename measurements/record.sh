#!/bin/sh
# Records the measurements that `locksim calibrate` and `locksim validate` use
# (docs/validation.md, "Host calibration (issue 4)"). Run as root from the
# repository root: [INTERLEAVE=1] [REPEAT=n] sh measurements/record.sh [OUTDIR [all|mountstorm|lockbench]]
# Each configuration is measured 5 times (--repeat 5, or REPEAT=n; lockbench: three 1-s files)
# so the run-to-run spread can be reported beside the model's error.
# Only the traces of the calibration set's K=1 and K=4 storms are kept
# (calibrate reads per-syscall medians from them, alone and contended;
# ~50-200 kB each): for the others calibrate and validate
# regenerate the same op sequence from the variant, K and L (checking the op
# counts against the measurement), so the summaries are enough.
set -eu
out=${1:-out/host}
what=${2:-all}   # all, mountstorm or lockbench
mkdir -p "$out/mountstorm" "$out/lockbench"
touch "$out/load.log"
ls=./bin/locksim.js

# The load average before each run goes to load.log: on a shared machine other
# work competes for the 2 cpus and shows up as run-to-run spread.
load() { echo "$1 $(cat /proc/loadavg)" >> "$out/load.log"; }
# Pinned spinning threads and 64 launches on 2 cpus lose time slices to any
# other runnable task, so each configuration waits (up to 2 minutes) for the
# 1-minute load to drop below 3.
quiet() {
  n=0
  until awk '{exit !($1 < 3)}' /proc/loadavg || [ $n -ge 24 ]; do sleep 5; n=$((n + 1)); done
}

# INTERLEAVE=1: run every configuration once, then all of them again, REPEAT
# times (files NAME.rR.json, one run each; calibrate and validate merge the
# files of one configuration). The machine drifts over minutes (a
# configuration's mean moves by ~14% from one half hour to the next,
# docs/validation.md), so back-to-back repeats of one configuration share
# its drift and differ from the next configuration's; interleaved repeats
# spread it over every configuration alike.
storm() { # variant K L [run]
  quiet
  load "mountstorm $1 K=$2 L=$3${4:+ run $4}"
  if [ -n "${4:-}" ]; then
    "$ls" measure mountstorm --variant "$1" -K "$2" -L "$3" --repeat 1 -o "$out/mountstorm/$1-K$2-L$3.r$4.json"
  else
    "$ls" measure mountstorm --variant "$1" -K "$2" -L "$3" --repeat ${REPEAT:-5} -o "$out/mountstorm/$1-K$2-L$3.json"
  fi
}
storms() { # [run]
  # Calibration set: per-layer idmap, K in {1,4,16}, L in {10,50}, plus two
  # configurations with thousands of mounts in the table (without them the
  # per-mount cost is not identifiable).
  for K in 1 4 16; do for L in 10 50; do storm per-layer-idmap $K $L "$@"; done; done
  storm per-layer-idmap 16 100 "$@"
  storm per-layer-idmap 32 50 "$@"
  # Held-out set: other K and L, and the common-parent variant.
  for K in 2 8 32 64; do for L in 1 25 100; do storm per-layer-idmap $K $L "$@"; done; done
  for K in 1 8 32; do storm common-parent $K 50 "$@"; done
}
if [ "$what" != lockbench ]; then
  if [ "${INTERLEAVE:-0}" = 1 ]; then
    r=1
    while [ $r -le ${REPEAT:-5} ]; do storms $r; r=$((r + 1)); done
  else
    storms
  fi
fi

if [ "$what" != mountstorm ]; then
# Lock microbenchmark: 2 threads on the 2 cpus, TTAS, 1 s per run, 3 runs per cs.
for cs in 50 200 100 400 800; do
  for r in 1 2 3; do
    quiet
    load "lockbench cs=$cs run $r"
    "$ls" measure lockbench --lock ttas --threads 2 --cs "$cs" --duration 1000 -o "$out/lockbench/ttas-t2-cs$cs-run$r.json"
  done
done
fi
find "$out/mountstorm" -name '*.trace.jsonl' ! -name '*-K1-*' ! -name '*-K4-*' -delete
