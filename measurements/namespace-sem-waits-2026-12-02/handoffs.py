"""How a mount storm's namespace_sem sleepers get the lock, from a trace of
scripts/ftrace-locks.sh: per sleeping call, how often it was woken and how
long each wake-up took to run it; who woke it (the thread that released the
lock to it: its syscall, and how long that syscall had run, which for a
sleeper that got the lock before it is its own wait); and what the other CPU
ran when each sleep began.
Usage: python3 handoffs.py PREFIX  (PREFIX.ftrace or PREFIX.ftrace.gz)"""
import collections, gzip, os, re, statistics as st, sys

LOCK = 'ce4f18f9'  # namespace_sem's hashed address on this boot (lock_waits.py)
prefix = sys.argv[1]
path = prefix + '.ftrace.gz'
f = gzip.open(path, 'rt') if os.path.exists(path) else open(prefix + '.ftrace')
pat = re.compile(r'^\s*(\S+)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+):\s+(\w+):?\s*(.*)$')
insys, sysstart, oncpu = {}, {}, {}
asleep, lastwake, woke_at, calls = {}, {}, {}, {}
wakers, other_cpu, per_op = collections.Counter(), collections.Counter(), collections.defaultdict(list)
for line in f:
    m = pat.match(line)
    if not m:
        continue
    comm, pid, cpu, ts, ev, rest = m.groups()
    pid, cpu, ts = int(pid), int(cpu), float(ts) * 1e6
    oncpu.setdefault(cpu, (comm, pid))
    if ev.startswith('sys_'):
        if '->' in rest:
            insys.pop(pid, None)
        else:
            insys[pid], sysstart[pid] = ev[4:], ts
    elif ev == 'sched_switch':
        n = re.search(r'next_comm=(\S+) next_pid=(\d+)', rest)
        oncpu[cpu] = (n.group(1), int(n.group(2)))
        t = int(n.group(2))
        if t in woke_at and t in calls:
            calls[t]['delays'].append(ts - woke_at.pop(t))
    elif ev == 'sched_wakeup':
        t = int(re.search(r'pid=(\d+)', rest).group(1))
        if t in asleep:
            lastwake[t] = (insys.get(pid, '(user)' if comm == 'mountstorm' else comm), ts - sysstart.get(pid, ts))
            calls[t]['wakes'] += 1
            woke_at.setdefault(t, ts)
    elif ev == 'contention_begin' and LOCK in rest and 'SPIN' not in rest:
        op = insys.get(pid, '?')
        asleep[pid] = op
        calls[pid] = {'op': op, 'mode': 'READ' if 'READ' in rest else 'WRITE', 'begin': ts, 'wakes': 0, 'delays': []}
        oc = oncpu.get(1 - cpu, ('?', 0))
        other_cpu[(op, oc[0] if oc[0] != 'mountstorm' else 'probe thread in ' + insys.get(oc[1], 'user mode'))] += 1
    elif ev == 'contention_end' and LOCK in rest and pid in asleep:
        asleep.pop(pid)
        c = calls.pop(pid)
        w = lastwake.pop(pid, None)
        wakers[(c['op'], c['mode'], w[0] if w else '(none: its own try)')] += 1
        per_op[(c['op'], c['mode'])].append((c, ts - c['begin'], w[1] if w else None))
for (op, mode), v in sorted(per_op.items(), key=lambda kv: -len(kv[1])):
    d = [x for c, _, _ in v for x in c['delays']]
    print(f"{op} {mode}: {len(v)} sleeps, mean {st.mean(s for _, s, _ in v) / 1e3:.2f} ms; wake-ups per sleep {st.mean(c['wakes'] for c, _, _ in v):.2f}"
          + (f", wake-up to running median {st.median(d):.0f} us, mean {st.mean(d):.0f} us" if d else ''))
print('who released the lock to each sleeper (its syscall):')
for (op, mode, w), n in wakers.most_common(12):
    print(f'  {n:4d}  {op} {mode} <- {w}')
print('what the other CPU ran when each sleep began:')
for (op, o), n in other_cpu.most_common(10):
    print(f'  {n:4d}  {op}: {o}')
