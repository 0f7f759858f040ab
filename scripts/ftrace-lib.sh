# Shared by the scripts that trace one mountstorm probe run with ftrace
# (scripts/ftrace-storm.sh, scripts/ftrace-sleep-stacks.sh); sourced, not run.
#   ftrace_begin NAME BUFFER_KB EVENTS [TRIGGER]: checks root, tracefs and
#     the probe (exit 3, 3, 2 with one line), arms the restore on any exit,
#     enables the EVENTS this kernel has (and TRIGGER on sched_switch), and
#     starts tracing; sets $probe and $T.
#   ftrace_end OUT_PREFIX: stops tracing and saves the buffer as OUT_PREFIX.ftrace.
T=/sys/kernel/tracing
probe=$(cd "$(dirname "$0")/.." && pwd)/probes/build/mountstorm
ftrace_trigger=
ftrace_restore() {
  echo 0 > $T/tracing_on
  [ -z "$ftrace_trigger" ] || echo "!$ftrace_trigger" > $T/events/sched/sched_switch/trigger 2>/dev/null || true
  echo > $T/set_event
  echo > $T/trace
}
ftrace_begin() {
  name=$1
  [ "$(id -u)" = 0 ] || { echo "$name: needs root (tracefs and the probe's mounts)" >&2; exit 3; }
  [ -w $T/trace ] || { echo "$name: $T is not available (mount tracefs or enable CONFIG_FTRACE)" >&2; exit 3; }
  [ -x "$probe" ] || { echo "$name: $probe not built (sh probes/build.sh)" >&2; exit 2; }
  trap ftrace_restore EXIT
  trap 'exit 130' INT TERM HUP
  echo 0 > $T/tracing_on
  echo > $T/trace
  echo mono > $T/trace_clock
  echo "$2" > $T/buffer_size_kb
  echo > $T/set_event
  for e in $3; do
    grep -qx "$e" $T/available_events && echo "$e" >> $T/set_event
  done
  ftrace_trigger=${4:-}
  [ -z "$ftrace_trigger" ] || echo "$ftrace_trigger" > $T/events/sched/sched_switch/trigger
  echo 1 > $T/tracing_on
}
ftrace_end() {
  echo 0 > $T/tracing_on
  cat $T/trace > "$1.ftrace"
}
