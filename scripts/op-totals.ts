/**
 * Where a storm's time goes, op by op: each op's median call and its total
 * time per container, simulated with a calibration beside the probe's
 * traces of the same configuration (docs/validation.md, "Fifth session").
 * Usage: npx tsx scripts/op-totals.ts CALIBRATION.json KxL TRACE.jsonl...
 */
import { simulateProbeStorm } from '../src/host/calibration/fit.ts';
import { readTraceFile, tracedCalls } from '../src/host/calibration/measurements.ts';
import { median as med } from '../src/bench/stats.ts';
import { loadStormCalibration } from './stormCalibration.ts';
const [cal, cfg, ...traces] = process.argv.slice(2);
const [K, L] = cfg!.split('x').map(Number);
const meas: Record<string, number[]> = {};
for (const f of traces) for (const [op, c] of tracedCalls(readTraceFile(f))) (meas[op] ??= []).push(...c.durNs);
const { spec, kernel } = loadStormCalibration(cal!);
const p = { file: 'x', files: [], variant: 'per-layer-idmap' as const, layers: L!, containers: K!, runsMeanNs: [], opCounts: {}, traces: [], otherRunnable: 0 };
const r = simulateProbeStorm(spec, kernel, p, { recordOpDurations: true });
console.log(`K=${K} L=${L}: model mean launch ${(r.metrics.rootfsMeanS! * 1e3).toFixed(1)} ms`);
for (const op of Object.keys(meas)) {
  const m = meas[op]!, s = r.opDurations![op] ?? [];
  const perC = (v: number[], runs: number) => v.reduce((a, b) => a + b, 0) / runs / K! / 1e3;
  console.log(`  ${op.padEnd(14)} median meas ${(med(m) / 1e3).toFixed(1).padStart(8)} us model ${(s.length ? med(s) / 1e3 : NaN).toFixed(1).padStart(8)} us | per container total meas ${perC(m, traces.length).toFixed(0).padStart(6)} us model ${perC(s, 1).toFixed(0).padStart(6)} us`);
}
