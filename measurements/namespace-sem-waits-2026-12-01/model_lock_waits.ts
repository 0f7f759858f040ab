/**
 * The model's side of lock_waits.py: one configuration of a traced storm
 * simulated with a calibration, and per mount op and rw-semaphore mode how
 * often its thread slept on the semaphore (queued on its wait list) and for
 * how long (from queueing to holding it, the span lock:contention_begin/end
 * covers in the kernel). It wraps RwSemaphore's methods for the run (a
 * measurement aid, not a model change).
 * Usage: npx tsx measurements/namespace-sem-waits-2026-12-01/model_lock_waits.ts CALIBRATION.json TRACE.jsonl
 */
import { simulateProbeStorm } from '../../src/host/calibration/fit.ts';
import { readTraceFile } from '../../src/host/calibration/measurements.ts';
import { loadStormCalibration } from '../../scripts/stormCalibration.ts';
import { RwSemaphore } from '../../src/locks/rwsem.ts';
import type { SimThread } from '../../src/cpu/thread.ts';
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
