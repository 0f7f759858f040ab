// Who waits on namespace_sem, the writers or the readers: each op's median
// call in mount storms (the probe's per-run `opP50Ns`, median over a
// configuration's runs) beside the same storm simulated once with a
// calibration. Large storms keep no traces, but every run records its ops'
// medians, so this reaches the held-out K = 32-64, L = 100 storms that
// scripts/op-totals.ts (traces) cannot.
//
// Why: the writers (open_tree, move_mount, umount) and the readers (an
// overlay mount's per-layer clone_private_mount) share one rw-semaphore; a
// mean launch can match while the wait sits on the wrong side
// (docs/validation.md, "Twenty-seventh session").
//
// Usage: npx tsx scripts/op-medians.ts CALIBRATION.json DIR CONFIG...
//   DIR holds CONFIG.rN.json (a window's measurements/ or heldout/), CONFIG
//   like per-layer-idmap-K64-L100.
import { readFileSync } from 'node:fs';
import { loadMountstormPoints, simulateProbeStorm } from '../src/host/calibrate.ts';
import { median } from '../src/bench/stats.ts';
import { configurationFiles, loadStormCalibration } from './stormCalibration.ts';

const [calibration, dir, ...configs] = process.argv.slice(2);
if (!calibration || !dir || configs.length === 0) {
  process.stderr.write('usage: npx tsx scripts/op-medians.ts CALIBRATION.json DIR CONFIG...\n');
  process.exit(2);
}
const { spec, kernel } = loadStormCalibration(calibration);
const OPS = ['open_tree', 'mount_setattr', 'move_mount', 'mount_overlay', 'umount'];
const us = (ns: number | undefined) => (ns === undefined || Number.isNaN(ns) ? '-' : (ns / 1e3).toFixed(1));
console.log(`| configuration | mean launch, ms (measured / model) | ${OPS.map((o) => `${o} median, us`).join(' | ')} |`);
console.log(`|---|---|${OPS.map(() => '---').join('|')}|`);
for (const config of configs) {
  const files = configurationFiles(dir, config);
  const measured = new Map<string, number[]>();
  for (const f of files) {
    for (const run of JSON.parse(readFileSync(f, 'utf8')).results.runs as { opP50Ns?: Record<string, number> }[]) {
      for (const [op, ns] of Object.entries(run.opP50Ns ?? {})) {
        let l = measured.get(op);
        if (!l) measured.set(op, (l = []));
        l.push(ns);
      }
    }
  }
  const [point] = loadMountstormPoints(files);
  const sim = simulateProbeStorm(spec, kernel, point!, { recordOpLog: true });
  const simulated = new Map<string, number[]>();
  for (const c of sim.opLog ?? []) {
    let l = simulated.get(c.op);
    if (!l) simulated.set(c.op, (l = []));
    l.push(c.durNs);
  }
  const meanMs = (median(point!.runsMeanNs) / 1e6).toFixed(1);
  const cells = OPS.map((op) => `${us(measured.has(op) ? median(measured.get(op)!) : undefined)} / ${us(simulated.has(op) ? median(simulated.get(op)!) : undefined)}`);
  console.log(`| ${config} | ${meanMs} / ${(sim.metrics.launchMeanS * 1e3).toFixed(1)} | ${cells.join(' | ')} |`);
}
