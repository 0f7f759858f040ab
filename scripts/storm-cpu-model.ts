// Where the model's CPU goes in a mount storm, to set beside the kernel's
// (scripts/storm-cpu-profile.sh): the storm of each CONFIG simulated once
// with a calibration, its mean launch and simulated length, the CPU time
// its threads spent on CPUs (the folded-stack ledger counts on-CPU time:
// docs/model.md, "Where time went"), that as a share of the machine's CPUs
// over the storm, and the split by what the threads did there, with the
// spinning on namespace_sem (a `namespace_sem;wait` leaf on a CPU is the
// writers' optimistic spin) by syscall.
//
// Usage: npx tsx scripts/storm-cpu-model.ts CALIBRATION.json DIR CONFIG...
//   DIR holds CONFIG.rN.json (a window's measurements/ or heldout/), CONFIG
//   like per-layer-idmap-K64-L100.
import { loadMountstormPoints, simulateProbeStorm } from '../src/host/calibrate.ts';
import { parseFolded } from '../src/report/html.ts';
import { configurationFiles, loadStormCalibration } from './stormCalibration.ts';

const [calibration, dir, ...configs] = process.argv.slice(2);
if (!calibration || !dir || configs.length === 0) {
  process.stderr.write('usage: npx tsx scripts/storm-cpu-model.ts CALIBRATION.json DIR CONFIG...\n');
  process.exit(2);
}
const { spec, kernel } = loadStormCalibration(calibration);
const cpus = spec.siblings.length;
for (const config of configs) {
  const files = configurationFiles(dir, config);
  const [point] = loadMountstormPoints(files);
  const sim = simulateProbeStorm(spec, kernel, point!, {});
  const byLeaf = new Map<string, number>();
  const spinBySyscall = new Map<string, number>();
  let busyUs = 0;
  for (const { stack, count: us } of parseFolded(sim.folded, `${config} (simulated)`)) {
    const frames = stack.split(';');
    busyUs += us;
    const leaf = frames[frames.length - 1]!;
    const spin = leaf === 'wait' && frames[frames.length - 2] === 'namespace_sem';
    const key = spin ? 'spinning on namespace_sem' : leaf;
    byLeaf.set(key, (byLeaf.get(key) ?? 0) + us);
    if (spin) spinBySyscall.set(frames[1] ?? '?', (spinBySyscall.get(frames[1] ?? '?') ?? 0) + us);
  }
  const lengthS = sim.metrics.simulatedS;
  const share = (us: number) => `${((100 * us) / busyUs).toFixed(1)}%`;
  console.log(`${config}: mean launch ${(sim.metrics.launchMeanS * 1e3).toFixed(1)} ms, storm ${(lengthS * 1e3).toFixed(1)} ms simulated; on CPUs ${(busyUs / 1e6).toFixed(3)} CPU-s, ${((100 * busyUs) / 1e6 / (lengthS * cpus)).toFixed(1)}% of ${cpus} CPUs`);
  for (const [k, us] of [...byLeaf].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${share(us).padStart(6)} ${k}`);
  console.log(`  spinning by syscall: ${[...spinBySyscall].sort((a, b) => b[1] - a[1]).map(([k, us]) => `${k} ${share(us)}`).join(', ')}`);
}
