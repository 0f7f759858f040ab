/**
 * How much each mount op slows per ns of cache-line transfer, measured
 * against the model's. The 2-vCPU guest moves between a near (~30 ns) and a
 * far (~230 ns) vCPU placement, often inside one recording window, and the
 * mountstorm probe times a line transfer between the two CPUs before and
 * after every run (`transferNs`). Per op and container count: a
 * least-squares line of the run's median call (opP50Ns) against that
 * transfer (runs whose placement moved during the run, before and after
 * more than 60 ns apart, left out). Its slope, in ns per ns, is how many
 * transfers the op waits for in that storm: lines it writes that another
 * CPU wrote last, the lock hand-offs it waits behind, IPIs across the
 * placement. The model's slope is the same difference simulated: the
 * calibration's hardware with crossL3 at 30 and at 240 ns.
 * Usage: npx tsx scripts/placement-slopes.ts CALIBRATION.json WINDOW_DIR...
 *   (per-layer-idmap runs of WINDOW_DIR/measurements and WINDOW_DIR/heldout)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineFit, median } from '../src/bench/stats.ts';
import { hostMachineSpec, simulateMountstormCalls } from '../src/host/calibration/fit.ts';
import type { MountstormPoint } from '../src/host/calibration/measurements.ts';
import { loadStormCalibration } from './stormCalibration.ts';

const [calibration, ...windows] = process.argv.slice(2);
if (!calibration || windows.length === 0) {
  process.stderr.write('usage: npx tsx scripts/placement-slopes.ts CALIBRATION.json WINDOW_DIR...\n');
  process.exit(2);
}

interface Run { transferNs?: { before: number; after: number }; opP50Ns: Record<string, number> }
// (K, op) -> runs' (transfer ns, median call ns)
const runs = new Map<string, { x: number[]; y: number[] }>();
for (const w of windows) {
  for (const sub of ['measurements', 'heldout']) {
    let names: string[] = [];
    try {
      names = readdirSync(join(w, sub));
    } catch {
      continue;
    }
    for (const name of names) {
      const m = /^per-layer-idmap-K(\d+)-L(\d+)\.r\d+\.json$/.exec(name);
      if (!m) continue;
      const doc = JSON.parse(readFileSync(join(w, sub, name), 'utf8')) as { results: { runs: Run[] } };
      for (const r of doc.results.runs) {
        if (!r.transferNs || Math.abs(r.transferNs.before - r.transferNs.after) > 60) continue;
        const x = (r.transferNs.before + r.transferNs.after) / 2;
        for (const [op, ns] of Object.entries(r.opP50Ns)) {
          const key = `${m[1]} ${op}`;
          const s = runs.get(key) ?? { x: [], y: [] };
          s.x.push(x);
          s.y.push(ns);
          runs.set(key, s);
        }
      }
    }
  }
}

const { hardware, kernel } = loadStormCalibration(calibration);
// A host calibration's model has the one transfer between its CPUs as crossL3 (hostToModel).
if (!hardware.coreToCore.crossL3) {
  process.stderr.write(`${calibration}: coreToCore.crossL3: expected the host's one transfer between its CPUs to vary, got none\n`);
  process.exit(2);
}
const crossL3 = hardware.coreToCore.crossL3;
const modelAt = (containers: number, layers: number, crossL3Ns: number) => {
  const h = structuredClone(hardware);
  h.coreToCore.crossL3 = { ...crossL3, value: crossL3Ns };
  const p: MountstormPoint = { file: '(placement)', files: [], variant: 'per-layer-idmap', layers, containers, runsMeanNs: [], opCounts: {}, traces: [], otherRunnable: 0 };
  return simulateMountstormCalls(hostMachineSpec(h), kernel, p).medianCallS;
};

const ops = ['open_tree', 'mount_setattr', 'move_mount', 'umount'];
console.log('| K | ' + ops.map((o) => `${o}: measured (runs) / model`).join(' | ') + ' |');
console.log('|---|' + ops.map(() => '---|').join(''));
for (const k of [1, 2, 4, 8, 16, 32, 64]) {
  // The model at L=25 (the op medians hardly depend on L once K is set).
  const near = modelAt(k, 25, 30), far = modelAt(k, 25, 240);
  const cells = ops.map((op) => {
    const s = runs.get(`${k} ${op}`);
    const spread = s ? Math.max(...s.x) - Math.min(...s.x) : 0;
    const fit = s && s.x.length >= 6 && spread >= 100 ? lineFit(s.x, s.y) : null;
    const measured = fit ? `${fit.slope.toFixed(1)} +- ${fit.slopeStdError.toFixed(1)} (${s!.x.length}; ${(median(s!.y) / 1000).toFixed(1)} us)` : 'n/a';
    const model = near[op] !== undefined && far[op] !== undefined ? (((far[op]! - near[op]!) * 1e9) / 210).toFixed(1) : 'n/a';
    return `${measured} / ${model}`;
  });
  console.log(`| ${k} | ${cells.join(' | ')} |`);
}
