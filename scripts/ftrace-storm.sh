#!/bin/sh
# Records one mount storm of the mountstorm probe with the kernel's scheduler
# and IPI tracepoints (ftrace), to see who wakes whom, on which vCPU, and what
# each IPI costs its sender and its receiver: the evidence behind the wake-up
# model's `ipiSendNs` (docs/validation.md, "Eleventh session"). Summarize with
# `npx tsx scripts/ipi-send-cost.ts OUT.ftrace`.
#
# Usage (root; probes built): sh scripts/ftrace-storm.sh OUT_PREFIX [CONTAINERS] [LAYERS]
# Writes OUT_PREFIX.ftrace, OUT_PREFIX.json (the probe's result) and
# OUT_PREFIX.trace.jsonl (its per-call trace). The probe runs in its own
# private mount namespace; tracing is switched off and its buffer emptied on
# any exit, killed included.
set -eu
out=${1:?usage: sh scripts/ftrace-storm.sh OUT_PREFIX [CONTAINERS] [LAYERS]}
k=${2:-2}
l=${3:-50}
T=/sys/kernel/tracing
here=$(cd "$(dirname "$0")/.." && pwd)
probe=$here/probes/build/mountstorm
[ "$(id -u)" = 0 ] || { echo "ftrace-storm: needs root (tracefs and the probe's mounts)" >&2; exit 3; }
[ -w $T/trace ] || { echo "ftrace-storm: $T is not available (mount tracefs or enable CONFIG_FTRACE)" >&2; exit 3; }
[ -x "$probe" ] || { echo "ftrace-storm: $probe not built (sh probes/build.sh)" >&2; exit 2; }
events="sched:sched_switch sched:sched_waking sched:sched_wakeup ipi:ipi_send_cpu ipi:ipi_send_cpumask
irq_vectors:call_function_single_entry irq_vectors:call_function_single_exit irq_vectors:call_function_entry
irq_vectors:call_function_exit irq_vectors:reschedule_entry power:cpu_idle syscalls:sys_enter_umount syscalls:sys_exit_umount"
restore() {
  echo 0 > $T/tracing_on
  echo > $T/set_event
  echo > $T/trace
}
trap restore EXIT
trap 'exit 130' INT TERM HUP
echo 0 > $T/tracing_on
echo > $T/trace
echo mono > $T/trace_clock
echo 20000 > $T/buffer_size_kb
echo > $T/set_event
for e in $events; do
  grep -qx "$e" $T/available_events && echo "$e" >> $T/set_event
done
echo 1 > $T/tracing_on
"$probe" --variant per-layer-idmap --layers "$l" --containers "$k" --trace "$out.trace.jsonl" > "$out.json"
echo 0 > $T/tracing_on
cat $T/trace > "$out.ftrace"
echo "wrote $out.ftrace ($(wc -l < "$out.ftrace") lines), $out.json, $out.trace.jsonl"
