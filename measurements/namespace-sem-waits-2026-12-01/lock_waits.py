"""Per mount syscall of a traced storm (scripts/ftrace-locks.sh): how often its
thread slept on each lock (lock:contention_begin -> contention_end, by lock
address and flags), how long, and how much of that was asleep (before the
thread's last wake-up) rather than waiting for a CPU.
Usage: python3 lock_waits.py PREFIX CONTAINERS  (PREFIX.ftrace or PREFIX.ftrace.gz)"""
import collections, gzip, os, re, sys

LINE = re.compile(r'^\s*(.+)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+):\s+(\S+?):?\s(.*)$')
WAKEE = re.compile(r'pid=(\d+)')
prefix, containers = sys.argv[1], int(sys.argv[2])
path = prefix + '.ftrace.gz'
f = gzip.open(path, 'rt') if os.path.exists(path) else open(prefix + '.ftrace')
in_call = {}                     # pid -> [syscall, start us, {lock: [sleeps, us, asleep us]}]
begun = {}                       # pid -> (lock key, start us)
woken = {}                       # pid -> last wake-up, us
calls = collections.Counter(); call_us = collections.Counter()
waits = collections.defaultdict(lambda: [0, 0.0, 0.0])
with f:
    for line in f:
        m = LINE.match(line)
        if not m:
            continue
        comm, pid, _cpu, ts, ev, rest = m.groups()
        t = float(ts) * 1e6
        if ev == 'sched_wakeup':
            woken[WAKEE.search(rest).group(1)] = t
            continue
        if comm.strip() != 'mountstorm':
            continue
        if ev.startswith('sys_'):
            name = ev[4:].split('(')[0]
            if rest.startswith('->') or line.split(ev, 1)[1].lstrip().startswith('->'):
                c = in_call.pop(pid, None)
                if c:
                    calls[c[0]] += 1
                    call_us[c[0]] += t - c[1]
                    for k, v in c[2].items():
                        w = waits[(c[0], k)]
                        w[0] += v[0]; w[1] += v[1]; w[2] += v[2]
            else:
                in_call[pid] = [name, t, collections.defaultdict(lambda: [0, 0.0, 0.0])]
        elif ev == 'contention_begin':
            key = rest.split()[0][-6:] + ' ' + rest.split('flags=')[1].rstrip(')')
            begun[pid] = (key, t)
            woken.pop(pid, None)
        elif ev == 'contention_end':
            b = begun.pop(pid, None)
            if b and pid in in_call:
                w = in_call[pid][2][b[0]]
                wake = woken.get(pid)
                w[0] += 1; w[1] += t - b[1]; w[2] += (wake - b[1]) if wake is not None and wake >= b[1] else 0.0
for name, n in calls.most_common():
    print(f'{name:14s} {n:6d} calls, {call_us[name] / containers / 1e3:8.1f} ms per container')
    for (c, k), (s, us, asleep) in sorted(waits.items(), key=lambda x: -x[1][1]):
        if c == name and s:
            print(f'    lock {k:18s} {s:6d} waits ({s / n:.3f} per call), {us / containers / 1e3:7.1f} ms per container, mean {us / s / 1e3:6.2f} ms, asleep {asleep / us * 100:3.0f}%')
