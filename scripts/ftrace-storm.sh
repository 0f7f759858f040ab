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
. "$(dirname "$0")/ftrace-lib.sh"
ftrace_begin ftrace-storm 20000 "sched:sched_switch sched:sched_waking sched:sched_wakeup ipi:ipi_send_cpu ipi:ipi_send_cpumask
irq_vectors:call_function_single_entry irq_vectors:call_function_single_exit irq_vectors:call_function_entry
irq_vectors:call_function_exit irq_vectors:reschedule_entry power:cpu_idle syscalls:sys_enter_umount syscalls:sys_exit_umount"
"$probe" --variant per-layer-idmap --layers "$l" --containers "$k" --trace "$out.trace.jsonl" > "$out.json"
ftrace_end "$out"
echo "wrote $out.ftrace ($(wc -l < "$out.ftrace") lines), $out.json, $out.trace.jsonl"
