// Where the kernel put woken threads, from ftraces of mount storms
// (scripts/ftrace-storm.sh): for every wake-up issued by a running task (not
// from an interrupt on an idle CPU), whether the wakee's previous CPU was
// its waker's, another idle one, or another busy one, and whether it was
// started on the waker's CPU or the other. Counted separately for the
// expedited-RCU worker (rcu_exp_gp_kthread_worker), the storm's threads and
// everything else, per file and over all files.
//
// Why: the model places a woken thread on its idle previous CPU (mainline's
// wake_affine_idle()); on this host the grace-period worker went to its
// caller's CPU in about one such wake-up of four, and stayed there after,
// which decides whether a lone container's unmounts take the fast grace
// period (docs/model.md section 6; the kernel model's
// rcuExpeditedWorker.pullToWakerShare is the pooled share printed here).
//
// The waker is the task on the CPU that printed sched_waking; its previous
// CPU is sched_waking's target_cpu (task_cpu() before the choice), the chosen
// one sched_wakeup's; a CPU is idle when its last sched_switch went to a
// swapper task.
//
// (For a wakee whose previous CPU is its waker's, the case also says whether
// the other CPU was idle: staying then is a choice, not the only place.)
//
// Usage: npx tsx scripts/wake-placement.ts OUT.ftrace [MORE.ftrace ...]
import { eventField as field, loadFtrace } from './ftraceEvents.ts';

const usage = 'npx tsx scripts/wake-placement.ts OUT.ftrace [MORE.ftrace ...]';
const files = process.argv.slice(2);
if (files.length === 0) loadFtrace(undefined, usage);

type Kind = 'worker' | 'storm' | 'other';
const kindOf = (comm: string): Kind => (comm.startsWith('rcu_exp_gp') ? 'worker' : comm === 'mountstorm' ? 'storm' : 'other');
const CASES = ["previous CPU the waker's, the other idle", "previous CPU the waker's, the other busy", 'previous CPU another, idle', 'previous CPU another, busy'] as const;
type Tally = Map<string, { toWaker: number; toOther: number }>;
const total: Tally = new Map();
const add = (t: Tally, k: string, toWaker: boolean) => {
  const c = t.get(k) ?? t.set(k, { toWaker: 0, toOther: 0 }).get(k)!;
  if (toWaker) c.toWaker++;
  else c.toOther++;
};

function print(title: string, t: Tally): void {
  console.log(`\n${title}\n| wakee | waker | case | to the waker's CPU | to the other | share to the waker's |\n|---|---|---|---|---|---|`);
  for (const kind of ['worker', 'storm', 'other'] as Kind[]) {
    for (const waker of ['worker', 'storm', 'other'] as Kind[]) {
      for (const c of CASES) {
        const v = t.get(`${kind}|${waker}|${c}`);
        if (!v) continue;
        console.log(`| ${kind} | ${waker} | ${c} | ${v.toWaker} | ${v.toOther} | ${(v.toWaker / (v.toWaker + v.toOther)).toFixed(2)} |`);
      }
    }
  }
}

for (const file of files) {
  const events = loadFtrace(file, usage);
  const idle = new Map<number, boolean>();
  const waking = new Map<string, { cpu: number; prev: number; waker: Kind }>();
  const tally: Tally = new Map();
  for (const e of events) {
    if (e.name === 'sched_switch') idle.set(e.cpu, field(e.rest, 'next_comm').startsWith('swapper'));
    else if (e.name === 'sched_waking') {
      // A wake-up from an interrupt on an idle CPU has no running waker to go to.
      if (e.pid === 0) continue;
      waking.set(field(e.rest, 'pid'), { cpu: e.cpu, prev: Number(field(e.rest, 'target_cpu')), waker: kindOf(e.comm) });
    } else if (e.name === 'sched_wakeup') {
      const pid = field(e.rest, 'pid');
      const w = waking.get(pid);
      if (!w) continue;
      waking.delete(pid);
      const to = Number(field(e.rest, 'target_cpu'));
      // On these 2-vCPU traces "the other" is the one CPU that is not the waker's.
      const otherIdle = [...idle].some(([cpu, isIdle]) => cpu !== w.cpu && isIdle);
      const c = w.prev === w.cpu ? (otherIdle ? CASES[0] : CASES[1]) : idle.get(w.prev) ? CASES[2] : CASES[3];
      const k = `${kindOf(field(e.rest, 'comm'))}|${w.waker}|${c}`;
      add(tally, k, to === w.cpu);
      add(total, k, to === w.cpu);
    }
  }
  print(file, tally);
}
if (files.length > 1) print(`all ${files.length} files`, total);
