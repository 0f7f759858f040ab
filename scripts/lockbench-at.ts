/**
 * A window's lockbench runs simulated with a transfer and a pause given, not
 * fitted: how far the model is from the runs with the numbers measured
 * directly (measurements/transfer-kinds-2026-12-01; docs/validation.md,
 * "Twenty-third session"). The cpus are grouped as the set's measured
 * transfer says (cpusApart) and runs on another placement are simulated there.
 * Usage: npx tsx scripts/lockbench-at.ts WINDOW_DIR TRANSFER_NS PAUSE_NS
 * (WINDOW_DIR holds hardware.yaml, measurements/ and heldout/, e.g. measurements/this-host-w60).
 */
import { readdirSync } from 'node:fs';
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { hostMachineSpec, lockbenchBaseModel, setTransferNs, simulateLockbench, withLockParameters, withPlacement } from '../src/host/calibration/fit.ts';
import { loadLockbenchPoints } from '../src/host/calibration/measurements.ts';
import { orExit } from './orExit.ts';

const [dir, transferArg, pauseArg] = process.argv.slice(2);
const transfer = Number(transferArg), pause = Number(pauseArg);
if (!dir || !(transfer > 0) || !(pause > 0)) {
  process.stderr.write('usage: npx tsx scripts/lockbench-at.ts WINDOW_DIR TRANSFER_NS PAUSE_NS\n');
  process.exit(2);
}
const files = (d: string) => readdirSync(d).filter((f) => /^ttas.*\.json$/.test(f)).map((f) => `${d}/${f}`);
const hw = orExit(() => loadHardwareModel(`${dir}/hardware.yaml`));
for (const set of ['measurements', 'heldout']) {
  const raw = orExit(() => loadLockbenchPoints(files(`${dir}/${set}`)));
  const t = setTransferNs(raw);
  const { model, split } = lockbenchBaseModel(hw, t, pause, []);
  const spec = hostMachineSpec(withLockParameters(model, [split ? 'coreToCore.crossL3' : 'coreToCore.sameL3'], [transfer]));
  let sum = 0;
  console.log(`${set}: the set's transfer ${t.toFixed(0)} ns, ${split ? 'two L3 groups' : 'one L3 group'}, transfer ${transfer} ns, pause ${pause} ns`);
  for (const p of withPlacement(raw, t)) {
    const measured = p.runsPerSec.reduce((a, b) => a + b, 0) / p.runsPerSec.length;
    const predicted = simulateLockbench(spec, p);
    sum += Math.abs(predicted / measured - 1);
    console.log(`  ${p.lock} cs=${p.csNs}${p.data ? ` ${p.data}` : ''}: measured ${(measured / 1e6).toFixed(2)} M/s, predicted ${(predicted / 1e6).toFixed(2)} (${(100 * (predicted / measured - 1)).toFixed(1)}%)`);
  }
  console.log(`  MAPE ${(100 * sum / raw.length).toFixed(1)}%`);
}
