#!/bin/sh
# trace.sh OUT_PREFIX K L (root, probes built): one common-parent --processes
# --unmount-inspection storm of the mountstorm probe, traced with the
# scheduler, fork, IPI and syscall tracepoints (scripts/ftrace-lib.sh restores
# tracing on any exit). Writes OUT_PREFIX.ftrace and OUT_PREFIX.json.
set -eu
out=$1; k=$2; l=$3
cd "$(dirname "$0")/../.."
. scripts/ftrace-lib.sh
probe=$(pwd)/probes/build/mountstorm
ftrace_begin ft 40000 "sched:sched_switch sched:sched_waking sched:sched_process_fork sched:sched_process_exit ipi:ipi_send_cpu ipi:ipi_send_cpumask
irq_vectors:call_function_single_entry irq_vectors:call_function_single_exit irq_vectors:call_function_entry irq_vectors:call_function_exit irq_vectors:reschedule_entry
syscalls:sys_enter_umount syscalls:sys_exit_umount syscalls:sys_enter_mount syscalls:sys_exit_mount syscalls:sys_enter_clone syscalls:sys_exit_clone"
unshare -m --propagation private "$probe" --variant common-parent --layers "$l" --containers "$k" --unmount-inspection --processes > "$out.json"
ftrace_end "$out"
echo "wrote $out.ftrace ($(wc -l < "$out.ftrace") lines)"
