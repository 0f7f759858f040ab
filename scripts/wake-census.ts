// Where the model's woken threads start from, in a simulated mount storm, in
// the categories scripts/wake-placement.ts reads from a kernel trace: the
// wakee (the grace-period worker, a storm thread, another), its waker (a
// thread running on the waker's CPU, one that has just let its CPU go, or
// an event such as a timer), and where the wakee last ran (the waker's CPU
// or another, free or busy), before the scheduler places it.
//
// Why: the model's storms wake threads whose previous CPU is busy with
// another thread far more often than the kernel's (docs/validation.md,
// "Thirteenth session"); this puts the two side by side.
//
// Also: wake-ups onto an idle vCPU by how long it had idled and how many
// found it blocked by the host, beside scripts/idle-vcpu-wakes.py's kernel side.
//
// Usage: npx tsx scripts/wake-census.ts CALIBRATION.json KxL [SEED]
//   (per-layer idmap, the probe's shape, as calibrate simulates it)
import { probeLaunchParams, traceOf } from '../src/host/calibrate.ts';
import { Machine } from '../src/machine.ts';
import { simulateLaunch } from '../src/workload/launch.ts';
import { loadStormCalibration } from './stormCalibration.ts';
import type { SimThread } from '../src/cpu/thread.ts';

const [calibration, shape, seed = 'calibrate'] = process.argv.slice(2);
const m = /^(\d+)x(\d+)$/.exec(shape ?? '');
if (!calibration || !m) {
  process.stderr.write('usage: npx tsx scripts/wake-census.ts CALIBRATION.json KxL [SEED]\n');
  process.exit(2);
}
const { spec, kernel } = loadStormCalibration(calibration);
const machine = new Machine(spec, { seed });
if (!machine.scheduler.params.wakeAware) {
  process.stderr.write(`${calibration}: its hardware model has no measured wakeup section: wake-ups do not know their waker\n`);
  process.exit(2);
}
const kindOf = (t: SimThread | null) => (t === null ? null : t.name.startsWith('rcu_exp') ? 'worker' : /^containerd-c\d+$/.test(t.name) ? 'storm' : 'other');
const tally = new Map<string, number>();
const names = new Set<string>();
machine.scheduler.wakeObserver = (wakee, prev, wakerCpu, state) => {
  names.add(wakee.name.replace(/\d+/g, 'N'));
  const onWaker = wakerCpu >= 0 ? machine.scheduler.threadOn(wakerCpu) : null;
  const waker = wakerCpu < 0 ? 'an event' : (kindOf(onWaker) ?? 'a thread that has just left its CPU');
  // 'waking': idle in the kernel's terms (its sched_switch still says swapper), a wake-up on its way to it.
  const st = state === 'busy' ? 'busy' : state === 'free' ? 'idle' : 'idle, a wake-up on its way';
  const where = prev === wakerCpu ? `the waker's, ${st}` : `another, ${st}`;
  const key = `${kindOf(wakee)} | ${waker} | ${wakerCpu < 0 ? `(no waker CPU) ${st}` : where}`;
  tally.set(key, (tally.get(key) ?? 0) + 1);
};
// Wake-ups onto an idle vCPU from another CPU, by how long it had idled
// (the bins of scripts/idle-vcpu-wakes.py, which reads a kernel trace):
// how many found it blocked by the host (haltPoll), which then costs haltedNs.
const BINS = [10, 25, 50, 80, 120, Infinity];
const idleBins = BINS.map(() => ({ n: 0, halted: 0 }));
machine.scheduler.remoteWakeObserver = (_cpu, idleNs, halted) => {
  const b = idleBins[BINS.findIndex((hi) => idleNs / 1000 < hi)]!;
  b.n++;
  if (halted) b.halted++;
};
const [K, L] = [Number(m[1]), Number(m[2])];
const point = { file: shape!, files: [], variant: 'per-layer-idmap' as const, layers: L, containers: K, runsMeanNs: [], opCounts: {}, traces: [], otherRunnable: 0 };
const r = simulateLaunch(machine, kernel, probeLaunchParams(point), traceOf(point), {});
console.log(`${K} x ${L}, seed ${seed}: mean launch ${((r.metrics.rootfsMeanS ?? NaN) * 1e3).toFixed(1)} ms; threads woken: ${[...names].join(', ')}`);
console.log('| wakee | waker | previous CPU | wake-ups |\n|---|---|---|---|');
for (const [k, v] of [...tally].sort()) console.log(`| ${k} | ${v} |`);
const remote = idleBins.reduce((a, b) => a + b.n, 0);
if (remote > 0) {
  console.log(`\nwake-ups onto the other, idle vCPU (host's halt polling): ${remote}, ${idleBins.reduce((a, b) => a + b.halted, 0)} found it blocked`);
  idleBins.forEach((b, i) => {
    if (b.n > 0) console.log(`  idled ${i === 0 ? 0 : BINS[i - 1]}-${BINS[i] === Infinity ? 'inf' : BINS[i]} us before: ${b.n}, ${b.halted} blocked`);
  });
}
