/**
 * open_tree in a storm against the mounts alive when it started: the calls'
 * quantiles binned by that count (every move_mount and overlay mount that
 * returned before the call adds one, every umount one less; the trace's ops
 * in time order), beside what a calibration's walk (mountTableWalkNs, and
 * its knee when it has one) says the walk alone costs at the bin's middle.
 * The fastest calls of a bin are the ones that waited for nothing, so its
 * low quantiles are the walk plus the rest of the call (docs/validation.md,
 * "Fourteenth session").
 * Usage: npx tsx scripts/walk-in-storm.ts [--calibration FILE] [--bin N] TRACE.jsonl...
 */
import { loadCalibrationRecord } from '../src/host/calibrate.ts';
import { readTraceFile } from '../src/host/calibration/measurements.ts';
import { loadKernelModel, perMountWalkNs } from '../src/workload/kernelModel.ts';
import { OP_NAMES, mountTableDelta, type OpName } from '../src/workload/trace.ts';

const args = process.argv.slice(2);
let calibration: string | undefined;
let bin = 1000;
const traces: string[] = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--calibration') calibration = args[++i];
  else if (args[i] === '--bin') bin = Number(args[++i]);
  else traces.push(args[i]!);
}
if (traces.length === 0 || !(bin > 0)) {
  process.stderr.write('usage: npx tsx scripts/walk-in-storm.ts [--calibration FILE] [--bin N] TRACE.jsonl...\n');
  process.exit(2);
}
const kernel = calibration ? loadKernelModel(loadCalibrationRecord(calibration).kernelModel!) : null;
const bins = new Map<number, number[]>();
let most = 0;
for (const f of traces) {
  const t = readTraceFile(f);
  const ops: { start: number; end: number; op: OpName }[] = [];
  for (let i = 0; i < t.ops.count; i++) {
    const d = t.ops.durNs[i]!;
    if (Number.isNaN(d)) continue;
    ops.push({ start: t.ops.startNs[i]!, end: t.ops.startNs[i]! + d, op: OP_NAMES[t.ops.op[i]!]! });
  }
  // Table changes at each op's return, in time order; a call sees those before its start.
  const changes = ops.map((o) => ({ at: o.end, delta: mountTableDelta(o.op) })).filter((c) => c.delta !== 0).sort((a, b) => a.at - b.at);
  const calls = ops.filter((o) => o.op === 'open_tree').sort((a, b) => a.start - b.start);
  let alive = 0;
  let j = 0;
  for (const c of calls) {
    while (j < changes.length && changes[j]!.at <= c.start) alive += changes[j++]!.delta;
    most = Math.max(most, alive);
    const b = Math.floor(alive / bin) * bin;
    (bins.get(b) ?? bins.set(b, []).get(b)!).push(c.end - c.start);
  }
}
const q = (v: number[], p: number) => v[Math.min(v.length - 1, Math.floor(p * v.length))]! / 1000;
console.log(`open_tree against the mounts alive at the call (${traces.length} trace(s), at most ${most} alive)`);
console.log(`| mounts alive | calls | p5 | p10 | p25 | median |${kernel ? ' the walk alone at the middle (calibration) |' : ''}`);
console.log(`|---|---|---|---|---|---|${kernel ? '---|' : ''}`);
for (const [b, v] of [...bins].sort((x, y) => x[0] - y[0])) {
  v.sort((x, y) => x - y);
  const walk = kernel ? ` ${(perMountWalkNs(kernel, kernel.costs.mountTableWalkNs!.value, b + bin / 2) / 1000).toFixed(1)} us |` : '';
  console.log(`| ${b}-${b + bin - 1} | ${v.length} | ${q(v, 0.05).toFixed(1)} us | ${q(v, 0.1).toFixed(1)} us | ${q(v, 0.25).toFixed(1)} us | ${q(v, 0.5).toFixed(1)} us |${walk}`);
}
