// How a calibration's predictions move with the hardware model's measured
// wake-up numbers (docs/validation.md, "Fourth session"): each number moved
// alone, without refitting, at five per-layer storm shapes of the
// calibration set the kernel was fitted to.
// usage: npx tsx scripts/wakeup-sensitivity.ts KERNEL.yaml HARDWARE.yaml [MEASUREMENTS_DIR]
import { join } from 'node:path';
import { loadHardwareModel, type HardwareModel } from '../src/config/hardwareSchema.ts';
import { hostMachineSpec, loadMountstormPoints, simulateMountstormCalls } from '../src/host/calibrate.ts';
import { loadKernelModel } from '../src/workload/kernelModel.ts';

const [kernelFile, hardwareFile, dir = 'measurements/this-host-w8/measurements'] = process.argv.slice(2);
if (!kernelFile || !hardwareFile) {
  process.stderr.write('usage: npx tsx scripts/wakeup-sensitivity.ts KERNEL.yaml HARDWARE.yaml [MEASUREMENTS_DIR]\n');
  process.exit(2);
}
const shapes = ['K1-L50', 'K2-L10', 'K2-L50', 'K4-L50', 'K16-L50'];
const points = shapes.map((c) => loadMountstormPoints([1, 2, 3, 4, 5].map((r) => join(dir, `per-layer-idmap-${c}.r${r}.json`)))[0]!);
const kernel = loadKernelModel(kernelFile);
const hw0 = loadHardwareModel(hardwareFile);
if (!hw0.wakeup) {
  process.stderr.write(`${hardwareFile}: no wakeup section to vary (make the model with \`locksim host topology --wakeup FILE\`)\n`);
  process.exit(2);
}
type Wakeup = NonNullable<HardwareModel['wakeup']>;
const rows: [string, (w: Wakeup) => void][] = [
  ['as measured and fitted', () => {}],
  ['remote 12 us (the quietest runs)', (w) => (w.remoteNs.value = 12_000)],
  ['remote 25 us (traced, with tracing on)', (w) => (w.remoteNs.value = 25_000)],
  ['preempt share 1', (w) => (w.preemptShare.value = 1)],
  ['local 3.5 us', (w) => (w.localNs.value = 3_500)],
  ['wait share 0.5', (w) => (w.waitOnPreviousShare.value = 0.5)],
  ['wait share 0 (mainline select_idle_sibling)', (w) => (w.waitOnPreviousShare.value = 0)],
];
const measured = points.map((p) => p.runsMeanNs.reduce((a, b) => a + b, 0) / p.runsMeanNs.length / 1e9);
const lines = [
  `| hardware wakeup | ${shapes.map((c) => c.replace('-', ' ')).join(' | ')} |`,
  `|---|${shapes.map(() => '---').join('|')}|`,
  `| measured (mean of the runs) | ${measured.map((m) => `${(m * 1e3).toFixed(2)} ms`).join(' | ')} |`,
];
const cell = (hw: HardwareModel) =>
  points.map((p, i) => {
    const s = simulateMountstormCalls(hostMachineSpec(hw), kernel, p).meanS;
    return `${(s * 1e3).toFixed(2)} (${((s / measured[i]! - 1) * 100).toFixed(0)}%)`;
  });
for (const [name, change] of rows) {
  const hw = structuredClone(hw0) as HardwareModel;
  change(hw.wakeup!);
  lines.push(`| ${name} | ${cell(hw).join(' | ')} |`);
}
const plain = structuredClone(hw0) as HardwareModel;
delete plain.wakeup;
lines.push(`| no wakeup section (one 5 us latency) | ${cell(plain).join(' | ')} |`);
process.stdout.write(lines.join('\n') + '\n');
