#!/bin/sh
# trace.sh OUT K L (root): one per-layer-idmap storm of K containers x L layers
# traced with every syscall's entry and exit, page faults, TLB flushes,
# interrupts and scheduler switches; PROBE=path runs another build of the
# probe. Writes OUT.ftrace, OUT.json and OUT.trace.jsonl. Tracing is off and
# its buffer empty on any exit (scripts/ftrace-lib.sh).
set -eu
out=$1; k=$2; l=$3
. "$(dirname "$0")/../../scripts/ftrace-lib.sh"; probe=${PROBE:-$(cd "$(dirname "$0")/../.." && pwd)/probes/build/mountstorm}
ftrace_begin gap-trace 40000 "sched:sched_switch sched:sched_waking sched:sched_wakeup exceptions:page_fault_user exceptions:page_fault_kernel irq_vectors:call_function_single_entry irq_vectors:call_function_single_exit irq_vectors:call_function_entry irq_vectors:call_function_exit irq_vectors:reschedule_entry irq_vectors:reschedule_exit irq_vectors:local_timer_entry irq_vectors:local_timer_exit tlb:tlb_flush raw_syscalls:sys_enter raw_syscalls:sys_exit"
"$probe" --variant per-layer-idmap --layers "$l" --containers "$k" --trace "$out.trace.jsonl" > "$out.json"
ftrace_end "$out"
