/**
 * Where a storm's mean launch goes, kernel against model: per container,
 * when its first call started (after the release), the time in each op
 * kind's calls, and the gaps between its calls (its own work, and waiting
 * for a CPU when it was preempted or woken late), summed to when its last
 * call ended. The kernel's from the probe's per-call traces of one
 * configuration (probes/mountstorm --trace), averaged over the traces; the
 * model's from the same configuration simulated with a calibration.
 * (docs/validation.md, "Twenty-first session".)
 *
 * Usage: npx tsx scripts/launch-parts.ts CALIBRATION.json TRACE.jsonl...
 */
import { simulateProbeStorm } from '../src/host/calibration/fit.ts';
import { loadMountstormPoint, readTraceFile } from '../src/host/calibration/measurements.ts';
import { loadStormCalibration } from './stormCalibration.ts';
import { OP_NAMES, type Trace } from '../src/workload/trace.ts';
import { InputError } from '../src/config/errors.ts';
import { orExit } from './orExit.ts';
import { existsSync } from 'node:fs';

interface Call { container: string | number; op: string; startNs: number; durNs: number }
interface Parts { containers: number; firstNs: number; ops: Record<string, number>; gapsNs: number; endNs: number }

/** Per-container means of the parts of a launch, from its calls. */
function parts(calls: Call[]): Parts {
  const by = new Map<string | number, Call[]>();
  for (const c of calls) (by.get(c.container) ?? by.set(c.container, []).get(c.container)!).push(c);
  const p: Parts = { containers: by.size, firstNs: 0, ops: {}, gapsNs: 0, endNs: 0 };
  for (const list of by.values()) {
    list.sort((a, b) => a.startNs - b.startNs);
    p.firstNs += list[0]!.startNs;
    p.endNs += list.at(-1)!.startNs + list.at(-1)!.durNs;
    list.forEach((c, i) => {
      p.ops[c.op] = (p.ops[c.op] ?? 0) + c.durNs;
      if (i + 1 < list.length) p.gapsNs += list[i + 1]!.startNs - c.startNs - c.durNs;
    });
  }
  const n = by.size;
  p.firstNs /= n;
  p.endNs /= n;
  p.gapsNs /= n;
  for (const k of Object.keys(p.ops)) p.ops[k]! /= n;
  return p;
}

function mean(ps: Parts[]): Parts {
  const out: Parts = { containers: ps[0]!.containers, firstNs: 0, ops: {}, gapsNs: 0, endNs: 0 };
  for (const p of ps) {
    out.firstNs += p.firstNs / ps.length;
    out.gapsNs += p.gapsNs / ps.length;
    out.endNs += p.endNs / ps.length;
    for (const [k, v] of Object.entries(p.ops)) out.ops[k] = (out.ops[k] ?? 0) + v / ps.length;
  }
  return out;
}

const [cal, ...files] = process.argv.slice(2);
if (!cal || files.length === 0) {
  console.error('usage: npx tsx scripts/launch-parts.ts CALIBRATION.json TRACE.jsonl...');
  process.exit(2);
}
const traces: Trace[] = orExit(() => {
  for (const f of [cal, ...files]) if (!existsSync(f)) throw new InputError({ file: f, line: 1, column: 1, field: '(file)', expected: 'an existing file', got: 'none' });
  return files.map((f) => readTraceFile(f));
});
const kernelParts = mean(
  traces.map((t) => {
    const calls: Call[] = [];
    for (let i = 0; i < t.ops.count; i++) if (!Number.isNaN(t.ops.durNs![i]!)) calls.push({ container: t.ops.container[i]!, op: OP_NAMES[t.ops.op[i]!]!, startNs: t.ops.startNs![i]!, durNs: t.ops.durNs![i]! });
    return parts(calls);
  }),
);
const first = traces[0]!;
const layers = first.header.containers[0]!.layers;
const { spec, kernel } = loadStormCalibration(cal);
// The storm as recorded (one process per container, the inspection's unmount) when the trace's measurement file is beside it.
const sibling = files[0]!.replace(/\.trace\.jsonl$/, '.json');
const point = sibling !== files[0] && existsSync(sibling)
  ? loadMountstormPoint(sibling)
  : { file: files[0]!, files, variant: first.header.variant as never, layers, containers: first.header.containers.length, runsMeanNs: [], opCounts: {}, traces: [] };
const r = simulateProbeStorm(spec, kernel, point, { recordOpLog: true });
const modelParts = parts(r.opLog!.map((e) => ({ container: e.container, op: e.op, startNs: e.startNs, durNs: e.durNs })));
const us = (ns: number) => (ns / 1e3).toFixed(0);
const ops = [...new Set([...Object.keys(kernelParts.ops), ...Object.keys(modelParts.ops)])];
console.log(`${first.header.variant} K=${point.containers} L=${layers}, per container, us (kernel: ${files.length} trace(s); model: ${cal})`);
console.log(`| | first call starts | ${ops.join(' | ')} | gaps between calls | last call ends |`);
console.log(`|---|---|${ops.map(() => '---|').join('')}---|---|`);
for (const [name, p] of [['kernel', kernelParts], ['model', modelParts]] as const) {
  console.log(`| ${name} | ${us(p.firstNs)} | ${ops.map((o) => us(p.ops[o] ?? 0)).join(' | ')} | ${us(p.gapsNs)} | ${us(p.endNs)} |`);
}
