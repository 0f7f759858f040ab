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
import { groupBy } from '../src/host/propagationFit.ts';
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
  // Each run's median of each op, measured; every call of each op, simulated.
  const runs = files.flatMap((f) => JSON.parse(readFileSync(f, 'utf8')).results.runs as { opP50Ns?: Record<string, number> }[]);
  const measured = groupBy(runs.flatMap((run) => Object.entries(run.opP50Ns ?? {})), ([op]) => op);
  const [point] = loadMountstormPoints(files);
  const sim = simulateProbeStorm(spec, kernel, point!, { recordOpLog: true });
  const simulated = groupBy(sim.opLog ?? [], (c) => c.op);
  const medianOf = (xs: number[] | undefined) => (xs ? median(xs) : undefined);
  const meanMs = (median(point!.runsMeanNs) / 1e6).toFixed(1);
  const cells = OPS.map((op) => `${us(medianOf(measured.get(op)?.map(([, ns]) => ns)))} / ${us(medianOf(simulated.get(op)?.map((c) => c.durNs)))}`);
  console.log(`| ${config} | ${meanMs} / ${(sim.metrics.launchMeanS * 1e3).toFixed(1)} | ${cells.join(' | ')} |`);
}
