/**
 * What single-container traces measure of the mount table walk directly:
 * open_tree's call duration against the number of mounts in the probe's
 * table when it was called (binds and overlays attached minus those
 * unmounted so far in the run), as a least-squares line through the median
 * duration at each table size. Its slope is the walk's ns per mount
 * (open_tree -> __do_loopback -> has_locked_children, fs/namespace.c), what
 * `locksim calibrate` fits as mountTableWalkNs together with six other
 * parameters (docs/validation.md, "Fifth session").
 * Usage: npx tsx scripts/open-tree-slope.ts TRACE.jsonl...
 */
import { lineFit, median } from '../src/bench/stats.ts';
import { readTraceFile, tracedCalls } from '../src/host/calibration/measurements.ts';

const files = process.argv.slice(2);
if (files.length === 0) throw new Error('usage: open-tree-slope.ts TRACE.jsonl...');
// open_tree's calls by the table size at each (tracedCalls counts the table as the model does: mountTableDelta).
const bySize = new Map<number, number[]>();
let calls = 0;
for (const file of files) {
  const c = tracedCalls(readTraceFile(file)).get('open_tree');
  c?.durNs.forEach((d, i) => {
    const at = bySize.get(c.tables[i]!) ?? [];
    at.push(d);
    bySize.set(c.tables[i]!, at);
    calls++;
  });
}
const xs = [...bySize.keys()].sort((a, b) => a - b);
const ys = xs.map((x) => median(bySize.get(x)!));
const { slope, intercept } = lineFit(xs, ys);
console.log(`open_tree: ${slope.toFixed(1)} ns per mount in the table, ${intercept.toFixed(0)} ns at an empty table (table sizes ${xs[0]}-${xs[xs.length - 1]}, ${calls} calls in ${files.length} traces)`);
