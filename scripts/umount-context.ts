// Where each umount of a storm waits, measured against simulated: every
// umount call of a calibration set's kept traces, and of the same storms
// simulated with that set's calibration, sorted by what the other containers
// were doing when it was called (in a syscall, and which; between syscalls;
// all done), with the count and the median and quartiles of its duration.
//
// Why: a storm's unmount waits for an expedited grace period whose length
// depends on the other CPU (busy or idle, and where the grace-period worker
// runs: docs/model.md section 6). A median over all calls hides which case
// the model gets wrong; this splits them (docs/validation.md, Tenth session).
//
// Usage: npx tsx scripts/umount-context.ts CALIBRATION.json MEASUREMENTS_DIR [CONFIG ...]
//   MEASUREMENTS_DIR holds CONFIG.rN.json with kept traces (a recorded
//   window's measurements/); CONFIG defaults to per-layer-idmap-K2-L10 and
//   per-layer-idmap-K2-L50.
import { loadMountstormPoints, readTraceFile, simulateProbeStorm } from '../src/host/calibrate.ts';
import { groupBy } from '../src/host/propagationFit.ts';
import { type OpLogEntry as Call } from '../src/workload/host/launchState.ts';
import { OP_NAMES, type Trace } from '../src/workload/trace.ts';
import { configurationFiles, loadStormCalibration } from './stormCalibration.ts';

/** A probe's trace as the simulation's op log gives its calls: every timed op. */
function tracedLog(t: Trace): Call[] {
  const out: Call[] = [];
  for (let i = 0; i < t.ops.count; i++) {
    const durNs = t.ops.durNs[i]!;
    if (Number.isNaN(durNs)) continue;
    out.push({ container: t.header.containers[t.ops.container[i]!]!.id, op: OP_NAMES[t.ops.op[i]!]!, startNs: t.ops.startNs[i]!, durNs });
  }
  return out;
}

/** What the other containers were doing when `u` was called. */
function context(u: Call, byContainer: Map<string, Call[]>): string {
  let state = 'others done';
  for (const [c, calls] of byContainer) {
    if (c === u.container) continue;
    const inCall = calls.find((o) => o.startNs <= u.startNs && o.startNs + o.durNs > u.startNs);
    if (inCall) return `other in ${inCall.op}`;
    if (calls.some((o) => o.startNs > u.startNs)) state = 'other between calls';
  }
  return state;
}

/** Umount durations by context over several runs' calls. */
function byContext(runs: Call[][]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const calls of runs) {
    const byContainer = groupBy(calls, (c) => c.container);
    for (const u of calls) {
      if (u.op !== 'umount') continue;
      const k = context(u, byContainer);
      let list = out.get(k);
      if (!list) out.set(k, (list = []));
      list.push(u.durNs);
    }
  }
  return out;
}

function summary(xs: number[] | undefined): string {
  if (!xs || xs.length === 0) return '-';
  const s = [...xs].sort((a, b) => a - b);
  const q = (f: number) => (s[Math.min(s.length - 1, Math.floor(f * s.length))]! / 1000).toFixed(1);
  return `${s.length}: ${q(0.5)} (${q(0.25)}-${q(0.75)})`;
}

const [calibration, dir, ...configs] = process.argv.slice(2);
if (!calibration || !dir) {
  process.stderr.write('usage: npx tsx scripts/umount-context.ts CALIBRATION.json MEASUREMENTS_DIR [CONFIG ...]\n');
  process.exit(2);
}
const { spec, kernel } = loadStormCalibration(calibration);
for (const config of configs.length ? configs : ['per-layer-idmap-K2-L10', 'per-layer-idmap-K2-L50']) {
  const files = configurationFiles(dir, config);
  const [point] = loadMountstormPoints(files);
  const measured = point!.traces.map((f) => tracedLog(readTraceFile(f)));
  // One simulation, as calibrate's (seed 'calibrate'; a run settled fast when the calibration's share of fast lone runs is 1).
  const sim = simulateProbeStorm(spec, kernel, point!, { recordOpLog: true });
  const m = byContext(measured);
  const s = byContext([sim.opLog ?? []]);
  console.log(`\n${config}: umount calls by what the other containers were doing; count: median (quartiles), us`);
  console.log(`| context | measured (${measured.length} runs) | simulated (1 run) |`);
  console.log('|---|---|---|');
  for (const k of [...new Set([...m.keys(), ...s.keys()])].sort()) console.log(`| ${k} | ${summary(m.get(k))} | ${summary(s.get(k))} |`);
}
