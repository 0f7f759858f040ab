// What each IPI costs its sender and how long it takes to land, from an
// ftrace of the scheduler and IPI tracepoints (scripts/ftrace-storm.sh):
//  - send: from a task's ipi_send_cpu to that task's next event on the same
//    CPU, by call site (ttwu_queue_wakelist: a wake-up onto another, idle
//    CPU; wakeup_preempt: a reschedule IPI; generic_exec_single: a function
//    call IPI such as the expedited grace period's rcu_exp_handler). On a
//    virtual machine the send is an exit to the host, and the task can do
//    nothing else meanwhile; the ftrace events themselves add ~1 us.
//  - landing: from the send to the target CPU's interrupt entry, by whether
//    the target was idle or running a task.
// Why: the wake-up model charges every wake-up onto another CPU its waker's
// send (hardware `wakeup.ipiSendNs`, docs/model.md section 6); this is the
// kernel's own account of it (docs/validation.md, "Eleventh session").
//
// Usage: npx tsx scripts/ipi-send-cost.ts OUT.ftrace
import { loadFtrace, type FtraceEvent as Ev } from './ftraceEvents.ts';

const events = loadFtrace(process.argv[2], 'npx tsx scripts/ipi-send-cost.ts OUT.ftrace');
const site = (e: Ev) => /callsite=(\w+)/.exec(e.rest)?.[1] ?? '?';
const byCpu = new Map<number, Ev[]>();
for (const e of events) {
  let l = byCpu.get(e.cpu);
  if (!l) byCpu.set(e.cpu, (l = []));
  l.push(e);
}
const push = (m: Map<string, number[]>, k: string, v: number) => {
  let l = m.get(k);
  if (!l) m.set(k, (l = []));
  l.push(v);
};
const send = new Map<string, number[]>();
for (const l of byCpu.values()) {
  for (let i = 0; i < l.length - 1; i++) {
    const e = l[i]!;
    if (e.name !== 'ipi_send_cpu' || e.pid === 0) continue;
    push(send, site(e), l[i + 1]!.us - e.us);
  }
}
const landing = new Map<string, number[]>();
for (let i = 0; i < events.length; i++) {
  const e = events[i]!;
  if (e.name !== 'ipi_send_cpu') continue;
  const target = Number(/cpu=(\d+)/.exec(e.rest)?.[1]);
  let hit: Ev | undefined;
  for (let j = i + 1; j < events.length && !hit; j++) {
    const f = events[j]!;
    if (f.cpu === target && (f.name === 'call_function_single_entry' || f.name === 'reschedule_entry')) hit = f;
  }
  if (hit) push(landing, `${site(e)} into a${hit.pid === 0 ? 'n idle' : ' busy'} cpu`, hit.us - e.us);
}
const q = (xs: number[], f: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(f * xs.length))]!;
const table = (title: string, m: Map<string, number[]>) => {
  console.log(`\n${title}\n| call site | IPIs | median (quartiles), us |\n|---|---|---|`);
  for (const [k, v] of [...m].sort((a, b) => b[1].length - a[1].length)) console.log(`| ${k} | ${v.length} | ${q(v, 0.5).toFixed(1)} (${q(v, 0.25).toFixed(1)}-${q(v, 0.75).toFixed(1)}) |`);
};
console.log(`${process.argv[2]}: ${events.length} events`);
table("The sender's cost: from its ipi_send_cpu to its next event on the same cpu", send);
table("The landing: from the send to the target cpu's interrupt entry", landing);
