// How long each expedited grace period of a traced storm took, by what the
// worker found when it first ran: for every wake-up of the grace-period
// worker (rcu_exp_gp_kthread_worker) by a storm thread, the time until the
// worker's first wake-up of a storm thread (the grace period's end, as its
// caller sees it, less the caller's own way back to a CPU), split by whether
// the other vCPU was idle when the worker got its CPU, whether the worker
// sent an IPI (smp_call_function_single from generic_exec_single: the
// grace period's IPI into a CPU not yet quiescent), and whether it ran on
// its caller's vCPU. For 2-vCPU traces of scripts/ftrace-storm.sh (it needs
// the ipi tracepoints).
//
// Why: the model's grace period is fast when no other CPU is busy and the
// worker shares its caller's CPU, and slow otherwise; this is the kernel's
// own split (docs/validation.md, "Thirteenth session").
//
// Usage: npx tsx scripts/grace-periods.ts OUT.ftrace [MORE.ftrace ...]
import { median } from '../src/bench/stats.ts';
import { eventField as field, loadFtrace } from './ftraceEvents.ts';

const usage = 'npx tsx scripts/grace-periods.ts OUT.ftrace [MORE.ftrace ...]';
const files = process.argv.slice(2);
if (files.length === 0) loadFtrace(undefined, usage);
const q = (xs: number[], f: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(f * xs.length))]!;

for (const file of files) {
  const events = loadFtrace(file, usage);
  const running = new Map<number, string>();
  type Gp = { phase: 'woken' | 'running'; t0: number; callerCpu: number; ipi: boolean; otherIdle: boolean; together: boolean };
  let gp: Gp | null = null;
  const out = new Map<string, number[]>();
  for (const e of events) {
    if (e.name === 'sched_switch') {
      const next = field(e.rest, 'next_comm');
      running.set(e.cpu, next);
      const woken = gp as Gp | null; // (assigned in other branches of this loop, which the narrowing does not follow)
      if (woken !== null && woken.phase === 'woken' && next.startsWith('rcu_exp_gp')) {
        const other = [...running.keys()].find((c) => c !== e.cpu) ?? 1 - e.cpu;
        gp = { ...woken, phase: 'running', otherIdle: (running.get(other) ?? 'swapper').startsWith('swapper'), together: e.cpu === woken.callerCpu };
      }
    } else if (e.name === 'sched_waking' && e.comm === 'mountstorm' && field(e.rest, 'comm').startsWith('rcu_exp_gp')) {
      if (gp === null) gp = { phase: 'woken', t0: e.us, callerCpu: e.cpu, ipi: false, otherIdle: false, together: false };
    } else if (e.name === 'ipi_send_cpu' && e.comm.startsWith('rcu_exp_gp') && e.rest.includes('generic_exec_single')) {
      if (gp?.phase === 'running') gp.ipi = true;
    } else if (e.name === 'sched_waking' && e.comm.startsWith('rcu_exp_gp') && field(e.rest, 'comm') === 'mountstorm' && gp?.phase === 'running') {
      const key = `${gp.otherIdle ? 'idle' : 'busy'} | ${gp.ipi ? 'yes' : 'no'} | ${gp.together ? "the caller's" : 'the other'}`;
      (out.get(key) ?? out.set(key, []).get(key)!).push(e.us - gp.t0);
      gp = null;
    }
  }
  console.log(`\n${file}\n| other vCPU when the worker ran | IPI sent | worker's vCPU | grace periods | median (us) | quartiles (us) |\n|---|---|---|---|---|---|`);
  for (const [k, v] of [...out].sort()) console.log(`| ${k} | ${v.length} | ${median(v).toFixed(0)} | ${q(v, 0.25).toFixed(0)}-${q(v, 0.75).toFixed(0)} |`);
}
