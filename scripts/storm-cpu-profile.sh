#!/bin/sh
# Where the kernel's CPU goes in one mount storm: the probe run under
# `perf record` (software cpu-clock sampling of every CPU, call graphs; a
# guest without a PMU has no hardware events), with the machine's CPU time
# from /proc/stat around it, so a simulated storm's busy CPU and its split
# (walk, spinning, the rest) can be held to the kernel's
# (docs/validation.md, "Twenty-seventh session").
#
# Usage, as root, from the repository root (probes built: make -C probes):
#   sh scripts/storm-cpu-profile.sh OUT K L [RUNS]
# writes OUT/run-N.json (the probe's summary), OUT/trace-N.jsonl (its trace),
# OUT/stat.txt (the CPU time of each run, by /proc/stat field), and, for
# the last run, OUT/perf-flat.txt and OUT/perf-callers.txt (perf report).
# The probe makes its mounts in a private mount namespace that goes with it.
set -eu
out=${1:?usage: sh scripts/storm-cpu-profile.sh OUT K L [RUNS]}
k=${2:?usage: sh scripts/storm-cpu-profile.sh OUT K L [RUNS]}
l=${3:?usage: sh scripts/storm-cpu-profile.sh OUT K L [RUNS]}
runs=${4:-3}
probe=$(pwd)/probes/build/mountstorm
[ -x "$probe" ] || { echo "storm-cpu-profile: $probe not built (make -C probes)" >&2; exit 2; }
command -v perf >/dev/null || { echo "storm-cpu-profile: perf not installed" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "storm-cpu-profile: needs root (the probe mounts; perf samples the kernel)" >&2; exit 3; }
mkdir -p "$out"
: > "$out/stat.txt"
i=1
while [ "$i" -le "$runs" ]; do
  before=$(head -1 /proc/stat)
  if [ "$i" -eq "$runs" ]; then
    perf record -q -e cpu-clock -F 1999 -a -g -o "$out/perf.data" -- \
      "$probe" --variant per-layer-idmap --layers "$l" --containers "$k" --trace "$out/trace-$i.jsonl" > "$out/run-$i.json"
  else
    "$probe" --variant per-layer-idmap --layers "$l" --containers "$k" --trace "$out/trace-$i.jsonl" > "$out/run-$i.json"
  fi
  after=$(head -1 /proc/stat)
  # user nice system idle iowait irq softirq steal, in ticks, over the run (the probe's set-up and tear-down included).
  echo "run $i $before | $after" | awk '{for (j=1; j<=8; j++) { a[j]=$(3+j); b[j]=$(15+j) }
    split("user nice system idle iowait irq softirq steal", name, " "); t=0; for (j=1;j<=8;j++){d[j]=b[j]-a[j]; t+=d[j]}
    printf "run %s:", $2; for (j=1;j<=8;j++) printf " %s %.1f%%", name[j], 100*d[j]/t; printf " (%d ticks)\n", t}' >> "$out/stat.txt"
  i=$((i + 1))
done
perf report -i "$out/perf.data" --no-children --sort sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -60 > "$out/perf-flat.txt"
perf report -i "$out/perf.data" --no-children --sort sym --stdio -G 2>/dev/null | grep -v '^#' | grep -v '^$' | head -400 > "$out/perf-callers.txt"
rm -f "$out/perf.data"
cat "$out/stat.txt"
head -12 "$out/perf-flat.txt"
