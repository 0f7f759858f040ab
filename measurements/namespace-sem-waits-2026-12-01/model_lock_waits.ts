/**
 * The model's side of lock_waits.py: one configuration of a traced storm
 * simulated with a calibration, and per mount op and rw-semaphore mode how
 * often its thread slept on the semaphore (queued on its wait list) and for
 * how long (from queueing to holding it, the span lock:contention_begin/end
 * covers in the kernel). It wraps RwSemaphore's methods for the run (a
 * measurement aid, not a model change). Last line: how long a sleeper that
 * a release of namespace_sem woke took to get a CPU (the kernel's side is
 * measurements/namespace-sem-waits-2026-12-02/handoffs.py).
 * Usage: npx tsx measurements/namespace-sem-waits-2026-12-01/model_lock_waits.ts CALIBRATION.json TRACE.jsonl
 */
import { simulateProbeStorm } from '../../src/host/calibration/fit.ts';
import { readTraceFile } from '../../src/host/calibration/measurements.ts';
import { loadStormCalibration } from '../../scripts/stormCalibration.ts';
import { RwSemaphore } from '../../src/locks/rwsem.ts';
import { SimThread, ThreadState } from '../../src/cpu/thread.ts';
import { InputError } from '../../src/config/errors.ts';
import { orExit } from '../../scripts/orExit.ts';
import { existsSync } from 'node:fs';

const [cal, file] = process.argv.slice(2);
if (!cal || !file) {
  console.error('usage: npx tsx measurements/namespace-sem-waits-2026-12-01/model_lock_waits.ts CALIBRATION.json TRACE.jsonl');
  process.exit(2);
}
const queuedAt = new Map<SimThread, number>();
const got: { thread: string; lock: string; mode: string; from: number; at: number; slept: boolean }[] = [];
const queueAndSleep = RwSemaphore.prototype.queueAndSleep;
RwSemaphore.prototype.queueAndSleep = function (this: RwSemaphore, t, mode, start) {
  queuedAt.set(t, t.localNow);
  return queueAndSleep.call(this, t, mode, start);
};
const acquired = RwSemaphore.prototype.acquired;
RwSemaphore.prototype.acquired = function (this: RwSemaphore, t, mode, start) {
  const q = queuedAt.get(t);
  queuedAt.delete(t);
  got.push({ thread: t.name, lock: this.name, mode, from: q ?? start, at: t.localNow, slept: q !== undefined });
  return acquired.call(this, t, mode, start);
};

// Wake-up to running: threads a namespace_sem release woke (grant: readers granted, a writer woken to try).
const releasedTo = new Set<SimThread>();
const wokenAt = new Map<SimThread, number>();
const wakeToRunNs: number[] = [];
const grant = RwSemaphore.prototype.grant;
RwSemaphore.prototype.grant = function (this: RwSemaphore) {
  const woken = grant.call(this);
  if (this.name === 'namespace_sem') for (const w of woken) releasedTo.add(w.t);
  return woken;
};
const wake = SimThread.prototype.wake;
SimThread.prototype.wake = function (this: SimThread, delay?: number) {
  // A wake of a thread still running (it had not gone to sleep yet) is not a wake-up.
  if (releasedTo.delete(this) && this.state === ThreadState.Asleep) wokenAt.set(this, this.sim.now);
  return wake.call(this, delay);
};
const dispatched = SimThread.prototype.dispatched;
SimThread.prototype.dispatched = function (this: SimThread, cpu: number) {
  const at = wokenAt.get(this);
  if (at !== undefined) {
    wakeToRunNs.push(this.sim.now - at);
    wokenAt.delete(this);
  }
  return dispatched.call(this, cpu);
};

const trace = orExit(() => {
  for (const f of [cal, file]) if (!existsSync(f)) throw new InputError({ file: f, line: 1, column: 1, field: '(file)', expected: 'an existing file', got: 'none' });
  return readTraceFile(file);
});
const layers = trace.header.containers[0]!.layers;
const containers = trace.header.containers.length;
const point = { file, files: [file], variant: trace.header.variant as never, layers, containers, runsMeanNs: [], opCounts: {}, traces: [] };
const { spec, kernel } = loadStormCalibration(cal);
const r = simulateProbeStorm(spec, kernel, point, { recordOpLog: true });
// Each acquisition belongs to the op of its container that was in progress.
const ops = new Map<string, { op: string; s: number; e: number }[]>();
for (const e of r.opLog!) {
  const k = `containerd-${e.container}`;
  (ops.get(k) ?? ops.set(k, []).get(k)!).push({ op: e.op, s: e.startNs, e: e.startNs + e.durNs });
}
const agg = new Map<string, { n: number; sleeps: number; ns: number }>();
for (const a of got) {
  const op = ops.get(a.thread)?.find((o) => o.s <= a.from && a.at <= o.e + 1)?.op ?? '(none)';
  const key = `${op} ${a.lock} ${a.mode}`;
  const g = agg.get(key) ?? agg.set(key, { n: 0, sleeps: 0, ns: 0 }).get(key)!;
  g.n++;
  if (a.slept) {
    g.sleeps++;
    g.ns += a.at - a.from;
  }
}
console.log(`${trace.header.variant} K=${containers} L=${layers}, model (${cal}), per container:`);
for (const [k, g] of [...agg.entries()].sort((a, b) => b[1].ns - a[1].ns)) {
  console.log(`${k.padEnd(40)} ${g.n} acquisitions, ${g.sleeps} sleeps (${(g.sleeps / g.n).toFixed(3)} per acquisition), ${(g.ns / containers / 1e6).toFixed(1)} ms asleep per container, mean ${(g.ns / Math.max(1, g.sleeps) / 1e6).toFixed(2)} ms`);
}
wakeToRunNs.sort((a, b) => a - b);
if (wakeToRunNs.length > 0) {
  const mean = wakeToRunNs.reduce((a, b) => a + b, 0) / wakeToRunNs.length;
  console.log(`namespace_sem sleepers woken by a release: ${wakeToRunNs.length}; wake-up to running median ${(wakeToRunNs[wakeToRunNs.length >> 1]! / 1e3).toFixed(0)} us, mean ${(mean / 1e3).toFixed(0)} us`);
}
