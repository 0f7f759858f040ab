#!/bin/sh
# Records one per-layer-idmap mount storm with the kernel stack of every
# switch into uninterruptible sleep (a sched_switch trigger: stacktrace if
# prev_state == 2), with the mount(2) entries and exits, so
# scripts/sleep-stacks.ts can say where each syscall slept (a lock's slow
# path, a grace period). Tracing is restored on any exit; root only (exit 3
# otherwise), the probe built (exit 2).
# Usage: sh scripts/ftrace-sleep-stacks.sh OUT_PREFIX [CONTAINERS] [LAYERS]
set -eu
out=${1:?usage: sh scripts/ftrace-sleep-stacks.sh OUT_PREFIX [CONTAINERS] [LAYERS]}
k=${2:-64}
l=${3:-25}
. "$(dirname "$0")/ftrace-lib.sh"
ftrace_begin ftrace-sleep-stacks 40000 "sched:sched_switch sched:sched_wakeup syscalls:sys_enter_mount syscalls:sys_exit_mount" 'stacktrace if prev_state == 2'
"$probe" --variant per-layer-idmap --layers "$l" --containers "$k" --trace "$out.trace.jsonl" > "$out.json"
ftrace_end "$out"
echo "wrote $out.ftrace ($(wc -l < "$out.ftrace") lines), $out.json, $out.trace.jsonl"
