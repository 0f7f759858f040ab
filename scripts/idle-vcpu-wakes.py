"""What waking an idle vCPU costs during a mount storm, from the kernel's own
scheduler trace (scripts/ftrace-storm.sh; PREFIX.ftrace or PREFIX.ftrace.gz):

 - every wake-up sent from one CPU onto the other while that one idled:
   how long it had idled, and how long from sched_waking until the wakee
   ran there (a vCPU the host still polls answers in ~10-20 us on the
   2-vCPU guest; one it blocked takes the host's wake-up, 70-80 us more);
 - the grace-period worker (rcu_exp_gp_kthread_worker): how long it runs
   per turn on a CPU, and how long it sleeps uninterruptibly (waiting for
   the other CPUs' reports) per grace period;
 - IPIs (ipi_send_cpu, when traced): from the send to the handler's entry
   on the target (call_function_single_entry), onto an idle or a busy CPU,
   and the handler's length.

Why: the model's remote wake-ups in K=2 and K=4 storms come after 50-120 us
of idle and are mostly blocked ones; the kernel's come after a few us and
are polled (docs/validation.md, "Twenty-fifth session"). These are the
kernel's side of that comparison; scripts/wake-census.ts prints the model's.
Usage: python3 scripts/idle-vcpu-wakes.py PREFIX...   (PREFIX without .ftrace)"""
import os, re, statistics, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftrace_storm import SWITCH, events, wakee  # noqa: E402

WORKER = 'rcu_exp_gp_kthr'
TARGET = re.compile(r'target_cpu=(\d+)')
BINS = [(0, 10), (10, 25), (25, 50), (50, 80), (80, 120), (120, float('inf'))]


def quartiles(xs):
    s = sorted(xs)
    return s[len(s) // 4], s[len(s) // 2], s[3 * len(s) // 4]


def report(prefix):
    ev = events(prefix)
    running, idle_since, waking, pending = {}, {}, {}, {}
    remote = []
    worker_on, worker_runs, worker_sleep, worker_sleeps = None, [], None, []
    ipi_sent, ipi_entry, ipi_lat, ipi_len = {}, {}, {'idle': [], 'busy': []}, []
    for us, cpu, comm, pid, name, rest in ev:
        if name == 'sched_switch':
            # The event's task (comm) is the one leaving the CPU.
            m = SWITCH.search(rest)
            state, ncomm, nxt = m.group(2), m.group(3), int(m.group(4))
            running[cpu] = nxt
            if nxt == 0:
                idle_since[cpu] = us
            else:
                idle_since.pop(cpu, None)
            if nxt in pending and pending[nxt][0] == cpu:
                _, idled, sent = pending.pop(nxt)
                remote.append((idled, us - sent))
            if comm == WORKER:
                if worker_on is not None:
                    worker_runs.append(us - worker_on)
                worker_on = None
                worker_sleep = us if state == 'D' else None
            if ncomm == WORKER:
                worker_on = us
        elif name == 'sched_waking':
            waking[wakee(rest)] = (cpu, us)
        elif name == 'sched_wakeup':
            pid_woken, target = wakee(rest), int(TARGET.search(rest).group(1))
            if rest.startswith(f'comm={WORKER} ') and worker_sleep is not None:
                worker_sleeps.append(us - worker_sleep)
                worker_sleep = None
            w = waking.pop(pid_woken, None)
            if w is not None and target != w[0] and target in idle_since:
                pending[pid_woken] = (target, w[1] - idle_since[target], w[1])
        elif name == 'ipi_send_cpu':
            target = int(re.search(r'cpu=(\d+)', rest).group(1))
            ipi_sent.setdefault(target, (us, 'idle' if running.get(target) == 0 else 'busy'))
        elif name == 'call_function_single_entry':
            ipi_entry[cpu] = us
            s = ipi_sent.pop(cpu, None)
            if s is not None:
                ipi_lat[s[1]].append(us - s[0])
        elif name == 'call_function_single_exit' and cpu in ipi_entry:
            ipi_len.append(us - ipi_entry.pop(cpu))
    print(f'{prefix}:')
    lat = [r[1] for r in remote]
    if lat:
        q = quartiles(lat)
        print(f'  wake-ups onto the other, idle CPU: {len(remote)}, waking -> running quartiles {q[0]:.0f} / {q[1]:.0f} / {q[2]:.0f} us')
        for lo, hi in BINS:
            sel = [r[1] for r in remote if lo <= r[0] < hi]
            if sel:
                print(f'    idled {lo}-{hi} us before: {len(sel)}, median {statistics.median(sel):.0f} us to run, {sum(x >= 60 for x in sel)} took 60 us or more')
    if worker_runs:
        q = quartiles(worker_runs)
        print(f'  worker turns on a CPU: {len(worker_runs)}, {sum(worker_runs):.0f} us in all, quartiles {q[0]:.0f} / {q[1]:.0f} / {q[2]:.0f} us')
    if worker_sleeps:
        q = quartiles(worker_sleeps)
        print(f'  worker sleeps waiting for reports (state D): {len(worker_sleeps)}, quartiles {q[0]:.0f} / {q[1]:.0f} / {q[2]:.0f} us')
    for k, v in ipi_lat.items():
        if v:
            q = quartiles(v)
            print(f'  IPIs onto a {k} CPU: {len(v)}, send -> handler quartiles {q[0]:.0f} / {q[1]:.0f} / {q[2]:.0f} us')
    if ipi_len:
        print(f'  IPI handler (entry -> exit): median {statistics.median(ipi_len):.0f} us over {len(ipi_len)}')


if len(sys.argv) < 2:
    sys.exit('usage: python3 scripts/idle-vcpu-wakes.py PREFIX...   (a trace PREFIX.ftrace or PREFIX.ftrace.gz)')
for p in sys.argv[1:]:
    report(p[:-len('.ftrace')] if p.endswith('.ftrace') else p[:-len('.ftrace.gz')] if p.endswith('.ftrace.gz') else p)
