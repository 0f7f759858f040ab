/**
 * The lock microbenchmark's part of a calibration alone, for trying model
 * variants quickly: fits the two lock parameters (transfer latency, pause) to
 * a window's recorded lockbench files and predicts its held-out ones.
 * Usage: npx tsx scripts/lockbench-fit.ts HARDWARE_YAML WINDOW_DIR
 * (WINDOW_DIR holds measurements/ and heldout/, e.g. measurements/this-host-w19;
 * HARDWARE_YAML is the host model to start from, e.g. its refit's hardware.yaml).
 * The fit starts from a 27.1 ns transfer and a 64-cycle pause (PAUSE0 to change it).
 */
import { readdirSync } from 'node:fs';
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { calibrateLockbench, hostMachineSpec, simulateLockbench } from '../src/host/calibration/fit.ts';
import { loadLockbenchPoints } from '../src/host/calibration/measurements.ts';

const [hw, dir] = process.argv.slice(2);
if (!hw || !dir) {
  process.stderr.write('usage: npx tsx scripts/lockbench-fit.ts HARDWARE_YAML WINDOW_DIR\n');
  process.exit(2);
}
const base = structuredClone(loadHardwareModel(hw));
base.coreToCore.sameL3 = { ...base.coreToCore.sameL3, value: 27.1 };
base.pause.cycles = { ...base.pause.cycles, value: Number(process.env.PAUSE0 ?? 64) };
const files = (d: string) => readdirSync(d).filter((f) => /^ttas.*\.json$/.test(f)).map((f) => `${d}/${f}`);
const cal = loadLockbenchPoints(files(`${dir}/measurements`));
const held = loadLockbenchPoints(files(`${dir}/heldout`));
const fit = calibrateLockbench(base, cal);
console.log(`${fit.parameters.map((p) => `${p.name} = ${p.value.toFixed(2)} +- ${p.stdError.toFixed(2)}`).join(', ')}; calibration rms ${(100 * fit.rmsRelative).toFixed(1)}%`);
const spec = hostMachineSpec(fit.model);
let sum = 0;
for (const [set, pts] of [['calibration', cal], ['held-out', held]] as const) {
  for (const p of pts) {
    const measured = p.runsPerSec.reduce((a, b) => a + b, 0) / p.runsPerSec.length;
    const simulated = simulateLockbench(spec, p);
    if (set === 'held-out') sum += Math.abs(simulated / measured - 1);
    console.log(`${set} cs=${p.csNs} ${p.data ?? 'none'}: measured ${(measured / 1e6).toFixed(1)} M/s, simulated ${(simulated / 1e6).toFixed(1)} (${((simulated / measured - 1) * 100).toFixed(0)}%)`);
  }
}
console.log(`held-out MAPE ${((100 * sum) / held.length).toFixed(1)}%`);
