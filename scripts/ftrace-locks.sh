#!/bin/sh
# Records one mount storm of the mountstorm probe with the kernel's lock
# contention tracepoints (lock:contention_begin/end: a sleeping rw-semaphore
# or mutex waiter, a spinlock's slow path), the probe's mount syscalls'
# entries and exits, and the scheduler's switches and wake-ups: which call
# slept on which lock, how often and how long (docs/validation.md,
# "Twenty-second session"). Summarize with
# `python3 measurements/namespace-sem-waits-2026-12-01/lock_waits.py OUT_PREFIX CONTAINERS`.
#
# Usage (root; probes built): sh scripts/ftrace-locks.sh OUT_PREFIX [CONTAINERS] [LAYERS]
# Writes OUT_PREFIX.ftrace, OUT_PREFIX.json and OUT_PREFIX.trace.jsonl; tracing
# is switched off and its buffer emptied on any exit, killed included.
set -eu
out=${1:?usage: sh scripts/ftrace-locks.sh OUT_PREFIX [CONTAINERS] [LAYERS]}
k=${2:-64}
l=${3:-100}
. "$(dirname "$0")/ftrace-lib.sh"
calls="open_tree mount_setattr move_mount mount umount close"
events="lock:contention_begin lock:contention_end sched:sched_switch sched:sched_wakeup"
for c in $calls; do events="$events syscalls:sys_enter_$c syscalls:sys_exit_$c"; done
ftrace_begin ftrace-locks 200000 "$events"
"$probe" --variant per-layer-idmap --layers "$l" --containers "$k" --trace "$out.trace.jsonl" > "$out.json"
ftrace_end "$out"
echo "wrote $out.ftrace ($(wc -l < "$out.ftrace") lines), $out.json, $out.trace.jsonl"
