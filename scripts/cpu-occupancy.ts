// How a 2-CPU machine's time splits during a mount storm: both CPUs busy,
// one idle while the other has threads waiting in its run queue (work that
// could have run), an idle CPU with a thread on its way to it (a wake-up of
// an idle vCPU in flight), one idle with nothing waiting, both idle; from a kernel
// scheduler trace (sched_switch, sched_wakeup[_new], sched_migrate_task:
// `sh scripts/ftrace-sched.sh OUT K L`) and
// from the model's storm of the same shape (sampled every 5 us).
// Why: the model's 64 x 100 storm idled a CPU with threads waiting 71-75%
// of the time against the kernel's 15%; the kernel's shares are the check
// on any scheduler or lock change (docs/validation.md, "Sixteenth session").
// Usage: npx tsx scripts/cpu-occupancy.ts CALIBRATION.json KxL [TRACE.ftrace]
import { loadFtrace } from './ftraceEvents.ts';
import { simulateProbeStorm } from '../src/host/calibrate.ts';
import { Machine } from '../src/machine.ts';
import { loadStormCalibration } from './stormCalibration.ts';

const usage = 'npx tsx scripts/cpu-occupancy.ts CALIBRATION.json KxL [TRACE.ftrace]';
const [calibration, shape, ftrace] = process.argv.slice(2);
const km = /^(\d+)x(\d+)$/.exec(shape ?? '');
if (!calibration || !km) {
  process.stderr.write(`usage: ${usage}\n`);
  process.exit(2);
}

type Shares = { both: number; idleWaiting: number; waking: number; idleNothing: number; bothIdle: number; total: number };
const empty = (): Shares => ({ both: 0, idleWaiting: 0, waking: 0, idleNothing: 0, bothIdle: 0, total: 0 });
/**
 * `waiting[c]`: threads woken or preempted onto CPU c that are not running;
 * on an idle CPU those are on their way (the wake-up of an idle vCPU).
 */
function add(s: Shares, dt: number, idle: [boolean, boolean], waiting: [number, number]): void {
  s.total += dt;
  if (!idle[0] && !idle[1]) s.both += dt;
  else if ((idle[0] && waiting[0] > 0) || (idle[1] && waiting[1] > 0)) s.waking += dt;
  else if (idle[0] && idle[1]) s.bothIdle += dt;
  else if (waiting[idle[0] ? 1 : 0] > 0) s.idleWaiting += dt;
  else s.idleNothing += dt;
}
function line(name: string, s: Shares, extra: string): string {
  const pc = (x: number) => `${((100 * x) / s.total).toFixed(1)}%`.padStart(6);
  return `${name.padEnd(7)} both busy ${pc(s.both)} | one idle, other has waiting ${pc(s.idleWaiting)} | an idle CPU waking for a thread ${pc(s.waking)} | one idle, none waiting ${pc(s.idleNothing)} | both idle ${pc(s.bothIdle)}   ${extra}`;
}

/**
 * The kernel's shares over the storm: from its first open_tree to its last
 * umount when the trace has those syscall events (scripts/ftrace-sched.sh
 * records them), else over the whole trace (which then includes the probe's
 * set-up: comparable only for storms much longer than it).
 */
function kernelShares(file: string): Shares {
  const all = loadFtrace(file, usage);
  // ftrace prints syscall events as `sys_open_tree(dfd: ...)` (entry) and `sys_umount -> 0x0` (exit).
  const firstOpen = all.find((e) => e.name === 'sys_open_tree' && e.rest.startsWith('('))?.us ?? -Infinity;
  const lastUmount = all.reduce((at, e) => (e.name === 'sys_umount' && e.rest.trimStart().startsWith('->') ? e.us : at), Infinity);
  const events = all.filter((e) => e.us <= lastUmount);
  const waiting = [new Set<number>(), new Set<number>()];
  const running = [-1, -1];
  const s = empty();
  let last = -1;
  for (const e of events) {
    if (e.cpu > 1) {
      process.stderr.write(`${file}: a trace of a 2-CPU machine expected, got cpu ${e.cpu}\n`);
      process.exit(2);
    }
    if (last >= firstOpen && running[0]! >= 0 && running[1]! >= 0) add(s, e.us - last, [running[0] === 0, running[1] === 0], [waiting[0]!.size, waiting[1]!.size]);
    last = e.us;
    const pid = (key: string) => Number(new RegExp(`${key}=(\\d+)`).exec(e.rest)?.[1] ?? -1);
    if (e.name === 'sched_switch') {
      const prev = pid('prev_pid'), next = pid('next_pid');
      const state = /prev_state=(\S+)/.exec(e.rest)?.[1] ?? '';
      // Neither is waiting now: `next` runs; `prev` ran (a wake-up of a task that had not yet
      // left its CPU, ttwu_runnable, is traced too, and must not leave it waiting).
      for (const w of waiting) {
        w.delete(next);
        w.delete(prev);
      }
      // Preempted (still runnable): it waits on this CPU.
      if (prev !== 0 && state.startsWith('R')) waiting[e.cpu]!.add(prev);
      running[e.cpu] = next;
    } else if (e.name === 'sched_wakeup' || e.name === 'sched_wakeup_new') {
      const p = pid(' pid'), target = pid('target_cpu');
      if (target >= 0 && target <= 1 && running[0] !== p && running[1] !== p) waiting[target]!.add(p);
    } else if (e.name === 'sched_migrate_task') {
      const p = pid(' pid'), from = pid('orig_cpu'), to = pid('dest_cpu');
      if (from >= 0 && from <= 1 && to >= 0 && to <= 1 && waiting[from]!.delete(p)) waiting[to]!.add(p);
    }
  }
  return s;
}

/** The model's shares over its storm, sampled every 5 us (a sampler that only reads). */
function modelShares(): { s: Shares; meanMs: number } {
  const [K, L] = [Number(km![1]), Number(km![2])];
  const { spec, kernel } = loadStormCalibration(calibration!);
  if (spec.layout.core.length !== 2) {
    process.stderr.write(`${calibration}: a calibration of a 2-CPU machine expected, got ${spec.layout.core.length} CPUs\n`);
    process.exit(2);
  }
  const p = { file: shape!, files: [], variant: 'per-layer-idmap' as const, layers: L, containers: K, runsMeanNs: [], opCounts: {}, traces: [], otherRunnable: 0 };
  const m = new Machine(spec, { seed: 'calibrate' });
  const sched = m.scheduler;
  const STEP = 5_000;
  const s = empty();
  let tail = empty();
  const sampler = {
    fire: () => {
      const idle: [boolean, boolean] = [sched.threadOn(0) === null, sched.threadOn(1) === null];
      const waiting: [number, number] = [sched.waitingOn(0) + (sched.dispatching(0) ? 1 : 0), sched.waitingOn(1) + (sched.dispatching(1) ? 1 : 0)];
      // Both idle with nothing waiting: after the storm (or a pause); kept apart until work resumes.
      if (idle[0] && idle[1] && waiting[0] + waiting[1] === 0) add(tail, STEP, idle, waiting);
      else {
        for (const k of Object.keys(tail) as (keyof Shares)[]) s[k] += tail[k];
        tail = empty();
        add(s, STEP, idle, waiting);
      }
      if (tail.total < 20_000_000) m.sim.schedule(STEP, sampler, 0);
    },
  };
  m.sim.schedule(STEP, sampler, 0);
  const r = simulateProbeStorm(spec, kernel, p, {}, m);
  return { s, meanMs: r.metrics.rootfsMeanS! * 1e3 };
}

if (ftrace) {
  const k = kernelShares(ftrace);
  console.log(line('kernel', k, `(${(k.total / 1e3).toFixed(1)} ms of storm)`));
}
const model = modelShares();
console.log(line('model', model.s, `(storm mean ${model.meanMs.toFixed(1)} ms)`));
