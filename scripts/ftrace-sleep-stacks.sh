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
T=/sys/kernel/tracing
here=$(cd "$(dirname "$0")/.." && pwd)
probe=$here/probes/build/mountstorm
[ "$(id -u)" = 0 ] || { echo "ftrace-sleep-stacks: needs root (tracefs and the probe's mounts)" >&2; exit 3; }
[ -w $T/trace ] || { echo "ftrace-sleep-stacks: $T is not available (mount tracefs or enable CONFIG_FTRACE)" >&2; exit 3; }
[ -x "$probe" ] || { echo "ftrace-sleep-stacks: $probe not built (sh probes/build.sh)" >&2; exit 2; }
restore() {
  echo 0 > $T/tracing_on
  echo '!stacktrace if prev_state == 2' > $T/events/sched/sched_switch/trigger 2>/dev/null || true
  echo > $T/set_event
  echo > $T/trace
}
trap restore EXIT
trap 'exit 130' INT TERM HUP
echo 0 > $T/tracing_on
echo > $T/trace
echo mono > $T/trace_clock
echo 40000 > $T/buffer_size_kb
echo > $T/set_event
for e in sched:sched_switch sched:sched_wakeup syscalls:sys_enter_mount syscalls:sys_exit_mount; do
  grep -qx "$e" $T/available_events && echo "$e" >> $T/set_event
done
echo 'stacktrace if prev_state == 2' > $T/events/sched/sched_switch/trigger
echo 1 > $T/tracing_on
"$probe" --variant per-layer-idmap --layers "$l" --containers "$k" --trace "$out.trace.jsonl" > "$out.json"
echo 0 > $T/tracing_on
cat $T/trace > "$out.ftrace"
echo "wrote $out.ftrace ($(wc -l < "$out.ftrace") lines), $out.json, $out.trace.jsonl"
