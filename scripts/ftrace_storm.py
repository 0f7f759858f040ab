# ftrace_storm.py: reading one traced mountstorm probe run (python3), shared by
# the analyses in measurements/*/ (import with sys.path set to this directory).
#   PREFIX.ftrace or PREFIX.ftrace.gz: the kernel's trace (scripts/ftrace-storm.sh);
#   PREFIX.trace.jsonl: the probe's per-call trace (a header line, then one call per line).
import collections, gzip, json, os, re

LINE = re.compile(r'^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+):\s+(\w+):\s*(.*)$')
SWITCH = re.compile(r'prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)')
WAKEE = re.compile(r'pid=(\d+)')


def events(prefix):
    """The trace's events in file order: (time us, cpu, comm, pid, event, rest)."""
    path = prefix + '.ftrace.gz'
    f = gzip.open(path, 'rt') if os.path.exists(path) else open(prefix + '.ftrace')
    out = []
    with f:
        for line in f:
            m = LINE.match(line)
            if m:
                out.append((float(m.group(4)) * 1e6, int(m.group(3)), m.group(1).strip(), int(m.group(2)), m.group(5), m.group(6)))
    return out


def calls(prefix):
    """The probe's timed calls (dicts with container, op, pass, start_ns, dur_ns, tid)."""
    with open(prefix + '.trace.jsonl') as f:
        return [json.loads(l) for l in f][1:]


def wakee(rest):
    return int(WAKEE.search(rest).group(1))


def switch(rest):
    """A sched_switch's (prev pid, prev state, next pid)."""
    m = SWITCH.search(rest)
    return int(m.group(1)), m.group(2), int(m.group(4))


def broadcast(ev, tids):
    """The probe's main thread (the mountstorm task that wakes the most storm
    threads) and its release: the start of its largest burst of wake-ups of
    storm threads (within 300 us), which the probe's clock counts from."""
    count = collections.Counter()
    for t, cpu, comm, pid, name, rest in ev:
        if name == 'sched_waking' and comm == 'mountstorm' and pid not in tids and wakee(rest) in tids:
            count[pid] += 1
    main = count.most_common(1)[0][0]
    wakes = sorted(t for t, cpu, comm, pid, name, rest in ev if name == 'sched_waking' and pid == main and wakee(rest) in tids)
    best = max(((t, sum(1 for u in wakes[i:] if u - t < 300)) for i, t in enumerate(wakes)), key=lambda x: x[1])
    return main, best[0], best[1]


def runs_by_cpu(ev):
    """Per CPU, who ran when: (start, end, comm, pid) from sched_switch."""
    runs = collections.defaultdict(list)
    cur = {}
    for t, cpu, comm, pid, name, rest in ev:
        if name != 'sched_switch':
            continue
        m = SWITCH.search(rest)
        if cpu in cur:
            runs[cpu].append((cur[cpu][0], t, cur[cpu][1], cur[cpu][2]))
        cur[cpu] = (t, m.group(3), int(m.group(4)))
    return runs
