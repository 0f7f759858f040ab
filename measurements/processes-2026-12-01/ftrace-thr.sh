#!/bin/sh
set -eu
out=$1; k=$2; l=$3
cd "$(dirname "$0")/../../scripts"
. ./ftrace-lib.sh
# ftrace-lib.sh finds the probe from $0, which is this directory here, not scripts/.
probe=$(cd .. && pwd)/probes/build/mountstorm
ftrace_begin ftrace-thr 80000 "sched:sched_switch sched:sched_wakeup sched:sched_wakeup_new sched:sched_process_fork sched:sched_process_exit
syscalls:sys_enter_open_tree syscalls:sys_exit_open_tree syscalls:sys_enter_umount syscalls:sys_exit_umount syscalls:sys_enter_mount syscalls:sys_exit_mount syscalls:sys_enter_move_mount syscalls:sys_exit_move_mount syscalls:sys_enter_mount_setattr syscalls:sys_exit_mount_setattr syscalls:sys_enter_futex syscalls:sys_exit_futex exceptions:page_fault_user exceptions:page_fault_kernel ipi:ipi_send_cpu irq_vectors:call_function_single_entry irq_vectors:reschedule_entry"
"$probe" --variant per-layer-idmap --layers "$l" --containers "$k" --trace "$out.trace.jsonl" > "$out.json"
ftrace_end "$out"
