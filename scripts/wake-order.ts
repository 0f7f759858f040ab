// Where a woken thread goes in its CPU's run queue, and whether a wake-up
// onto a busy CPU preempts it, from an ftrace of the scheduler and IPI
// tracepoints (scripts/ftrace-storm.sh):
//  - order: for every wake-up onto a CPU where other threads already wait
//    (queued by earlier wake-ups or preempted), whether the wakee ran before
//    all of them or one of them ran first, by the wakee's command. The
//    queues are rebuilt from sched_wakeup (target_cpu) and sched_switch
//    (a prev_state of R: preempted, still queued).
//  - preemption: wake-ups by a task onto another CPU that runs a task, by
//    whether the waker sent a reschedule IPI (wakeup_preempt) and whether
//    the wakee ran next there with the runner still runnable.
// Why: the model orders run queues by EEVDF and takes its preemption rule
// from the wakeup probe (docs/model.md section 2); this is the kernel's
// own account in a storm (docs/validation.md, "Twelfth session").
//
// Usage: npx tsx scripts/wake-order.ts OUT.ftrace
import { eventField as field, loadFtrace } from './ftraceEvents.ts';

const events = loadFtrace(process.argv[2], 'npx tsx scripts/wake-order.ts OUT.ftrace');
const count = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

// Order in the run queues.
const queued = new Map<number, Map<number, 'woken' | 'preempted'>>();
const queueOf = (cpu: number) => queued.get(cpu) ?? queued.set(cpu, new Map()).get(cpu)!;
const commOf = new Map<number, string>();
let pending: { pid: number; others: Map<number, 'woken' | 'preempted'> }[] = [];
const order = new Map<string, number>();
// Preemption of a busy CPU by a wake-up from another.
const running = new Map<number, number>();
const preempt = new Map<string, number>();
for (let i = 0; i < events.length; i++) {
  const e = events[i]!;
  if (e.name === 'sched_wakeup') {
    const pid = Number(field(e.rest, 'pid'));
    const cpu = Number(field(e.rest, 'target_cpu'));
    commOf.set(pid, field(e.rest, 'comm'));
    const q = queueOf(cpu);
    const others = new Map([...q].filter(([p]) => p !== pid));
    if (others.size > 0) pending.push({ pid, others });
    q.set(pid, 'woken');
  } else if (e.name === 'sched_waking' && e.pid !== 0) {
    const pid = Number(field(e.rest, 'pid'));
    const wake = events.slice(i + 1, i + 200).find((f) => f.name === 'sched_wakeup' && Number(field(f.rest, 'pid')) === pid);
    if (!wake) continue;
    const target = Number(field(wake.rest, 'target_cpu'));
    if (target === e.cpu || !running.get(target)) continue;
    const ipi = events.slice(i + 1, i + 8).some((f) => f.cpu === e.cpu && f.name === 'ipi_send_cpu' && f.us - e.us < 20 && field(f.rest, 'callsite').startsWith('wakeup_preempt'));
    const next = events.slice(i + 1).find((f) => f.name === 'sched_switch' && f.cpu === target);
    const ranNext = !!next && Number(field(next.rest, 'next_pid')) === pid && field(next.rest, 'prev_state').startsWith('R');
    count(preempt, `${ipi ? 'reschedule IPI' : 'no IPI'}, ${ranNext ? 'wakee ran next, runner preempted' : 'runner kept its CPU or blocked'}`);
  } else if (e.name === 'sched_switch') {
    const prev = Number(field(e.rest, 'prev_pid'));
    const next = Number(field(e.rest, 'next_pid'));
    running.set(e.cpu, next);
    for (const q of queued.values()) q.delete(next);
    if (prev !== 0 && field(e.rest, 'prev_state').startsWith('R')) queueOf(e.cpu).set(prev, 'preempted');
    pending = pending.filter(({ pid, others }) => {
      const who = (commOf.get(pid) ?? '?').replace(/\/\d+$/, '');
      if (next === pid) count(order, `${who}: ran before every thread queued there`);
      else if (others.has(next)) count(order, `${who}: a thread queued there earlier (${others.get(next)}) ran first`);
      else return true;
      return false;
    });
  }
}
console.log(`${process.argv[2]}: ${events.length} events`);
console.log('\nWake-ups onto a CPU where others wait:');
for (const [k, n] of [...order].sort()) console.log(`  ${k}: ${n}`);
console.log('\nWake-ups by a task onto another CPU running a task:');
for (const [k, n] of [...preempt].sort()) console.log(`  ${k}: ${n}`);
