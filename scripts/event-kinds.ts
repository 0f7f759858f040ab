/**
 * Events of one launch point by kind (issue 14 profiling): every event is
 * counted by its target (thread wake, thread work completion, fill, queue
 * wake, scheduler, spin deadline) and, for a sample of 1 in SAMPLE, by the
 * call chain that scheduled it (the two innermost functions outside the
 * simulator). Usage:
 *
 *   npx tsx scripts/event-kinds.ts [MODEL] [CONTAINERS] [LAYERS] [--detailed]
 */
import { Simulator, type EventTarget } from '../src/engine/simulator.ts';
import { runLaunchPoint } from '../src/bench/launchPoint.ts';

const SAMPLE = 7;
const args = process.argv.slice(2);
const detailed = args.includes('--detailed');
const [model, k, l] = [args[0] ?? 'r5.metal', Number(args[1] ?? 100), Number(args[2] ?? 50)];

const byTarget = new Map<string, number>();
const byCaller = new Map<string, number>();
let n = 0;
const scheduleAt = Simulator.prototype.scheduleAt;
Error.stackTraceLimit = 8;
Simulator.prototype.scheduleAt = function (this: Simulator, time: number, target: EventTarget, arg = 0) {
  const kind = `${target.constructor?.name ?? 'callback'}${target.constructor?.name === 'SimThread' ? (arg < 0 ? ' work completion' : ' wake') : ''}`;
  byTarget.set(kind, (byTarget.get(kind) ?? 0) + 1);
  if (n++ % SAMPLE === 0) {
    const frames = (new Error().stack ?? '').split('\n').slice(1)
      .map((f) => f.trim().replace(/^at /, '').replace(/ \(.*$/, ''))
      .filter((f) => !f.startsWith('Simulator.') && !f.includes('scheduleAt') && !f.startsWith('<anonymous>'));
    const key = `${kind} <- ${frames.slice(0, 3).join(' <- ')}`;
    byCaller.set(key, (byCaller.get(key) ?? 0) + 1);
  }
  scheduleAt.call(this, time, target, arg);
};

const r = runLaunchPoint(model, k, l, 'per-layer-idmap', true, 0, detailed);
const total = [...byTarget.values()].reduce((a, b) => a + b, 0);
const pct = (x: number, of: number) => `${((100 * x) / of).toFixed(1)}%`;
process.stdout.write(`${model} ${k} x ${l}${detailed ? ' --detailed' : ''}: ${r.events} events fired, ${total} scheduled, ${r.mountOps} mount ops, ${(r.events / r.mountOps).toFixed(1)} events per mount op\n\nby target:\n`);
for (const [key, v] of [...byTarget].sort((a, b) => b[1] - a[1])) process.stdout.write(`${pct(v, total).padStart(6)} ${(v / r.mountOps).toFixed(1).padStart(6)}/op  ${key}\n`);
const sampled = [...byCaller.values()].reduce((a, b) => a + b, 0);
process.stdout.write(`\nby scheduling call chain (1 in ${SAMPLE} sampled):\n`);
for (const [key, v] of [...byCaller].sort((a, b) => b[1] - a[1]).slice(0, 40)) process.stdout.write(`${pct(v, sampled).padStart(6)}  ${key}\n`);
