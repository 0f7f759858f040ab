#!/bin/sh
# ftrace-proc.sh OUT K L VARIANT: a --processes --unmount-inspection storm with sched + syscall events
set -eu
out=$1; k=$2; l=$3; v=$4
cd "$(dirname "$0")/../../scripts"
. ./ftrace-lib.sh
# ftrace-lib.sh finds the probe from $0, which is this directory here, not scripts/.
probe=$(cd .. && pwd)/probes/build/mountstorm
ftrace_begin ftrace-proc 80000 "sched:sched_switch sched:sched_wakeup sched:sched_wakeup_new sched:sched_process_fork sched:sched_process_exit
syscalls:sys_enter_open_tree syscalls:sys_exit_open_tree syscalls:sys_enter_umount syscalls:sys_exit_umount syscalls:sys_enter_mount syscalls:sys_exit_mount syscalls:sys_enter_clone syscalls:sys_exit_clone syscalls:sys_enter_move_mount syscalls:sys_exit_move_mount syscalls:sys_enter_mount_setattr syscalls:sys_exit_mount_setattr exceptions:page_fault_user exceptions:page_fault_kernel ipi:ipi_send_cpu ipi:ipi_send_cpumask irq_vectors:call_function_single_entry irq_vectors:call_function_entry"
"$probe" --variant $v --layers "$l" --containers "$k" --unmount-inspection --processes --trace "$out.trace.jsonl" > "$out.json"
ftrace_end "$out"
echo "wrote $out.ftrace ($(wc -l < "$out.ftrace") lines)"
