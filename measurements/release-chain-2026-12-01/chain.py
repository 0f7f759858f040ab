# chain.py PREFIX (python3): how the mountstorm probe's threads leave the gate
# in a storm traced by scripts/ftrace-storm.sh (PREFIX.ftrace[.gz] and
# PREFIX.trace.jsonl): per thread, who woke it last before its first call (the
# probe's main thread, whose pthread_cond_broadcast releases them, or another
# storm thread, whose unlock of the gate mutex hands it on), how long it then
# waited for a CPU (wake -> in) and what held that CPU meanwhile (from the
# probe's own per-call trace: which op, or user time between ops).
import collections, os, statistics as st, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'scripts'))
import ftrace_storm as fs

P = sys.argv[1]
ev = fs.events(P)
ops = fs.calls(P)
first = {}
for o in ops:
    if o['pass'] == 1 and (o['tid'] not in first or o['start_ns'] < first[o['tid']]):
        first[o['tid']] = o['start_ns']
tids = set(first)
main, rel, burst = fs.broadcast(ev, tids)
print('main', main, 'broadcast at', rel, 'wakes in burst', burst, 'of', len(tids))

# Each storm thread's wake-ups (by whom) and switches in and out, from the broadcast on.
per = {t: [] for t in tids}
for t, cpu, comm, pid, name, rest in ev:
    if t < rel - 1:
        continue
    if name == 'sched_waking' and fs.wakee(rest) in tids:
        per[fs.wakee(rest)].append((t, 'waking', pid, cpu))
    elif name == 'sched_switch':
        a, state, b = fs.switch(rest)
        if a in tids:
            per[a].append((t, 'out:' + state, None, cpu))
        if b in tids:
            per[b].append((t, 'in', None, cpu))

# Per thread, in the order of their first calls: its last wake-up before its
# first call (the one that let it out), and when it then got a CPU.
order = sorted(tids, key=lambda x: first[x])
rows = []
waits = []  # (tid, woken at, on a CPU at, that CPU)
for k, tid in enumerate(order):
    f = rel + first[tid] / 1000
    evs = [e for e in per[tid] if e[0] <= f]
    wakes = [e for e in evs if e[1] == 'waking']
    lw = wakes[-1] if wakes else None
    ins = [e for e in evs if e[1] == 'in' and lw and e[0] >= lw[0]]
    if lw and ins:
        waits.append((tid, lw[0], ins[0][0], ins[0][3]))
    nsleep = sum(1 for e in evs if e[1].startswith('out:S'))
    waker = None if not lw else 'main' if lw[2] == main else 'storm' if lw[2] in tids else str(lw[2])
    rows.append((k, tid, first[tid] / 1000, lw[0] - rel if lw else None, (ins[0][0] - lw[0]) if ins else None, f - (ins[0][0] if ins else f), nsleep, waker))
for r in rows:
    print('%2d tid %d first-op %8.0f  last-wake %8.0f  wake->in %6.0f  in->op %6.0f sleeps %d waker %s' % tuple(x if x is not None else -1 for x in r))
g = [rows[i + 1][2] - rows[i][2] for i in range(len(rows) - 1)]
print('gaps between successive first ops: median %.0f mean %.0f' % (st.median(g), st.mean(g)))
w2i = [r[4] for r in rows if r[4] is not None and r[4] >= 0]
print('wake->in median %.0f mean %.0f' % (st.median(w2i), st.mean(w2i)))
i2o = [r[5] for r in rows]
print('in->first op median %.0f mean %.0f' % (st.median(i2o), st.mean(i2o)))

# What held the CPU while a released thread waited for it: by task, and for
# storm threads by the probe's own trace: in which op, or where between ops.
runs = fs.runs_by_cpu(ev)
calls_of = collections.defaultdict(list)
for o in ops:
    calls_of[o['tid']].append((rel + o['start_ns'] / 1000, rel + (o['start_ns'] + o['dur_ns']) / 1000, o['op']))
for L in calls_of.values():
    L.sort()
by_task, by_op, by_place = collections.Counter(), collections.Counter(), collections.Counter()
for tid, a, b, c in waits:
    for s, e, comm, p in runs[c]:
        lo, hi = max(s, a), min(e, b)
        if hi <= lo:
            continue
        if p in tids or comm == 'mountstorm':
            by_task['storm threads'] += hi - lo
        else:
            by_task[comm] += hi - lo
        if p not in tids:
            continue
        L = calls_of[p]
        inop = 0
        for x, y, op in L:
            d = max(0, min(y, hi) - max(x, lo))
            if d > 0:
                by_op[op] += d
                inop += d
        by_op['user (between ops)'] += hi - lo - inop
        for x in range(int(lo), int(hi)):
            if any(u <= x < v for u, v, _ in L):
                continue
            if x < L[0][0]:
                by_place['before first op'] += 1
            elif x >= L[-1][1]:
                by_place['after last op'] += 1
            else:
                j = max(i for i, (u, v, _) in enumerate(L) if u <= x)
                by_place['after ' + L[j][2]] += 1
print('CPU occupants during chain waits (us):', sum(by_task.values()), by_task.most_common(10))
# How soon a thread woken by the hand-on wakes the next: its last switch in before its first wake-up of a storm thread.
h = []
wakes_by = collections.defaultdict(list)
for t, cpu, comm, pid, name, rest in ev:
    if name == 'sched_waking' and t >= rel and pid in tids and fs.wakee(rest) in tids:
        wakes_by[pid].append(t)
for tid in order:
    ins = [e[0] for e in per[tid] if e[1] == 'in']
    if ins and wakes_by[tid]:
        prior = [t for t in ins if t <= wakes_by[tid][0]]
        if prior:
            h.append(wakes_by[tid][0] - prior[-1])
print('switch-in -> wakes next: median %.0f mean %.0f n %d' % (st.median(h), st.mean(h), len(h)))
print('storm occupants by op (us):', by_op.most_common())
print('user time by position:', by_place.most_common())
print('threads %d: last woken before the first op by the probe main thread (the broadcast) %d, by another storm thread (the gate mutex) %d; re-slept after the broadcast %d' % (len(rows), sum(r[7] == 'main' for r in rows), sum(r[7] == 'storm' for r in rows), sum(r[6] > 0 for r in rows)))
fo = [r[2] for r in rows]
print('first ops (us from the broadcast): first %.0f, median %.0f, last %.0f' % (min(fo), st.median(fo), max(fo)))
