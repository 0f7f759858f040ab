#!/bin/sh
# Records one mount storm of the mountstorm probe with the scheduler's
# tracepoints only (sched_switch, sched_wakeup, sched_wakeup_new,
# sched_migrate_task; no stacks, so the trace costs the storm little): what
# each vCPU ran, when it idled and what waited in its run queue; plus the
# storm's first open_tree and last umount (sys_enter_open_tree,
# sys_exit_umount), which bound the storm in the trace. Summarize
# with `npx tsx scripts/cpu-occupancy.ts CALIBRATION.json KxL OUT.ftrace`
# (docs/validation.md, "Sixteenth session").
#
# Usage (root; probes built): sh scripts/ftrace-sched.sh OUT_PREFIX CONTAINERS LAYERS
# Writes OUT_PREFIX.ftrace and OUT_PREFIX.json (the probe's result). The
# probe runs in its own private mount namespace; tracing is switched off and
# its buffer emptied on any exit, killed included.
set -eu
out=${1:?usage: sh scripts/ftrace-sched.sh OUT_PREFIX CONTAINERS LAYERS}
k=${2:?usage: sh scripts/ftrace-sched.sh OUT_PREFIX CONTAINERS LAYERS}
l=${3:?usage: sh scripts/ftrace-sched.sh OUT_PREFIX CONTAINERS LAYERS}
. "$(dirname "$0")/ftrace-lib.sh"
ftrace_begin ftrace-sched 40000 "sched:sched_switch sched:sched_wakeup sched:sched_wakeup_new sched:sched_migrate_task
syscalls:sys_enter_open_tree syscalls:sys_exit_umount"
"$probe" --variant per-layer-idmap --layers "$l" --containers "$k" > "$out.json"
ftrace_end "$out"
echo "wrote $out.ftrace ($(wc -l < "$out.ftrace") lines), $out.json"
