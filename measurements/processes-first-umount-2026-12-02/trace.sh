#!/bin/sh
# One common-parent storm of one container, 50 layers, --unmount-inspection
# --processes, traced: the unmounts, open_tree, the scheduler's switches
# (with the stack of every switch into uninterruptible sleep) and wake-ups,
# page faults. Root; tracing is restored on any exit (scripts/ftrace-lib.sh).
# Usage, from the repository root: sh measurements/processes-first-umount-2026-12-02/trace.sh OUT_PREFIX
set -eu
out=${1:?usage: trace.sh OUT_PREFIX}
. "$(dirname "$0")/../../scripts/ftrace-lib.sh"
probe=$(cd "$(dirname "$0")/../.." && pwd)/probes/build/mountstorm
ftrace_begin um-trace 40000 "sched:sched_switch sched:sched_wakeup syscalls:sys_enter_umount syscalls:sys_exit_umount syscalls:sys_enter_open_tree syscalls:sys_exit_open_tree exceptions:page_fault_user exceptions:page_fault_kernel" 'stacktrace if prev_state == 2'
"$probe" --variant common-parent --layers 50 --containers 1 --unmount-inspection --processes --trace "$out.trace.jsonl" > "$out.json"
ftrace_end "$out"
