/**
 * Where a simulated storm's umount calls wait: per call, the time its thread
 * spent runnable (woken, waiting for a CPU) against the rest (asleep in the
 * grace period, or on its CPU), for comparison with a kernel trace's split
 * (measurements/process-storm-trace-2026-12-01/ana.py). The storms are held-out
 * files' configurations, simulated with a calibration.
 * (docs/validation.md, "Twenty-first session".)
 *
 * Usage: npx tsx scripts/umount-wait-parts.ts CALIBRATION.json MOUNTSTORM.json...
 */
import { loadMountstormPoints } from '../src/host/calibration/measurements.ts';
import { simulateProbeStorm } from '../src/host/calibration/fit.ts';
import { Machine } from '../src/machine.ts';
import { SimThread } from '../src/cpu/thread.ts';
import { Scheduler } from '../src/cpu/scheduler.ts';
import { loadStormCalibration } from './stormCalibration.ts';
import { orExit } from './orExit.ts';

const [cal, ...files] = process.argv.slice(2);
if (!cal || files.length === 0) {
  console.error('usage: npx tsx scripts/umount-wait-parts.ts CALIBRATION.json MOUNTSTORM.json...');
  process.exit(2);
}
const { spec, kernel } = loadStormCalibration(cal);
const points = orExit(() => loadMountstormPoints(files));

// Every thread's wake-ups (made runnable) and dispatches, by name: observed
// by wrapping the two scheduler entry points (a diagnostic, not the model).
let now = () => 0;
const woken = new Map<string, number[]>();
const dispatched = new Map<string, number[]>();
const push = (m: Map<string, number[]>, k: string, v: number) => (m.get(k) ?? m.set(k, []).get(k)!).push(v);
const makeRunnable = Scheduler.prototype.makeRunnable;
Scheduler.prototype.makeRunnable = function (t: SimThread, delay?: number) {
  push(woken, t.name, now());
  return makeRunnable.call(this, t, delay);
};
const onDispatch = SimThread.prototype.dispatched;
SimThread.prototype.dispatched = function (cpu: number) {
  push(dispatched, this.name, now());
  return onDispatch.call(this, cpu);
};

for (const p of points) {
  woken.clear();
  dispatched.clear();
  const m = new Machine(spec, { seed: 'calibrate' });
  now = () => m.sim.now;
  const r = simulateProbeStorm(spec, kernel, p, { recordOpLog: true }, m);
  let runnable = 0, total = 0, n = 0;
  for (const e of r.opLog!) {
    if (e.op !== 'umount') continue;
    n++;
    total += e.durNs;
    const name = `containerd-${e.container}`;
    const end = e.startNs + e.durNs;
    for (const w of (woken.get(name) ?? []).filter((x) => x >= e.startNs && x <= end)) {
      const d = (dispatched.get(name) ?? []).find((y) => y >= w);
      if (d !== undefined) runnable += Math.min(d, end) - w;
    }
  }
  console.log(`${p.variant} K=${p.containers} L=${p.layers}: ${n} umounts, mean ${(total / n / 1e3).toFixed(0)} us, of which runnable (woken, waiting for a CPU) ${(runnable / n / 1e3).toFixed(0)} us`);
}
