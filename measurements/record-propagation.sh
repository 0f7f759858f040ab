#!/bin/sh
# Records the mount propagation measurements (docs/validation.md, "Mount
# propagation, measured"): the per-peer cost of a bind (open_tree, move_mount)
# and of an umount against the size of the peer group the clones join, and a
# full /proc/self/mountinfo read in a slave or private mount namespace, idle and
# during a storm, with read() sizes 1024 and 4096. Run as root from the
# repository root:
#   [REPEAT=n] [ROUNDS=list] [PART=all|slaves] sh measurements/record-propagation.sh [OUTDIR]
# Every configuration runs once per round, REPEAT rounds (default 5):
# interleaved, so minutes of drift on this shared machine spread over all
# configurations alike instead of shifting one. Files: OUTDIR/NAME.rR.json.
# The host's identity (lscpu, uname -r, date) goes to OUTDIR/host.txt and the
# load average before each run to OUTDIR/load.log.
set -eu
out=${1:-out/host/propagation}
mkdir -p "$out"
ls=./bin/locksim.js
{
  date -u +%Y-%m-%dT%H:%M:%SZ
  uname -r
  lscpu | grep -E '^(Model name|CPU family|Model|Thread|Core|Socket|CPU\(s\)|Hypervisor vendor)'
} >> "$out/host.txt"
touch "$out/load.log"
load() { echo "$1 $(cat /proc/loadavg)" >> "$out/load.log"; }
# Wait (up to QUIET_WAIT x 5 s, default 10 s) for the 1-minute load to drop
# below 3: other work on the 2 cpus shows up as spread, and the load log says
# how much there was. Six engineers share this machine, so the load rarely
# drops; interleaving, not waiting, is what spreads the noise fairly.
quiet() {
  n=0
  until awk '{exit !($1 < 3)}' /proc/loadavg || [ $n -ge "${QUIET_WAIT:-2}" ]; do sleep 5; n=$((n + 1)); done
}
storm() { # name run args...
  name=$1 run=$2
  shift 2
  quiet
  load "$name run $run"
  "$ls" measure mountstorm "$@" --repeat 1 -o "$out/$name.r$run.json"
}

round() { # run
  r=$1
  # Per-peer cost: one container (no contention), 50 layers, 100 binds and
  # 100 umounts per run, against the peer group the clones join.
  storm private-K1-L50 "$r" -K 1 -L 50 --propagation private
  for N in 0 500 1000 2000 4000; do
    storm shared-N$N-K1-L50 "$r" -K 1 -L 50 --propagation shared --peers "$N"
  done
  # The same with MNT_DETACH, as containerd unmounts: no busy check.
  for N in 0 1000 2000 4000; do
    storm shared-N$N-K1-L50-detach "$r" -K 1 -L 50 --propagation shared --peers "$N" --umount-detach
  done
  # The storm's syscall rate with and without a large peer group.
  storm private-K8-L50 "$r" -K 8 -L 50 --propagation private
  storm shared-N2000-K8-L50 "$r" -K 8 -L 50 --propagation shared --peers 2000
  # Mountinfo reads: mounts = peers, slave vs private reader, 1 KB vs 4 KB
  # reads; 11 idle reads, then reads during a K=4 L=50 storm.
  for N in 1000 2000 4000; do
    for reader in slave private; do
      for size in 1024 4096; do
        storm read-$reader-N$N-B$size "$r" -K 4 -L 50 --propagation shared --peers "$N" --reader "$reader" --read-size "$size" --idle-reads 11
      done
    done
  done
}
# What a slave namespace holding a copy of every peer adds to each op: one
# container (no contention), a reader that only reads idle (its namespace
# exists during the storm; --idle-reads 1, and it reads on during the storm).
slaves() { # run
  for N in 1000 2000 4000; do
    for reader in slave private; do
      storm slaves-$reader-N$N-K1-L50 "$1" -K 1 -L 50 --propagation shared --peers "$N" --reader "$reader" --read-size 4096 --idle-reads 1
    done
  done
}
# PART=slaves records only that part (it was added after the main recording).
for r in ${ROUNDS:-$(seq 1 "${REPEAT:-5}")}; do
  [ "${PART:-all}" = slaves ] || round "$r"
  slaves "$r"
done
# The summaries carry every number used (per-op medians, every read); keep the
# first run's trace of each per-peer configuration as a sample of the raw data.
find "$out" -name '*.trace.jsonl' ! -name '*-K1-L50*.r1.trace.jsonl' -delete
