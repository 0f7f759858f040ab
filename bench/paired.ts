/**
 * Two builds of locksim timed against each other on a shared, noisy machine:
 * the warm Fig 3 point (or any launch point) run alternately by build A and
 * build B inside one process, so each pair of runs meets the same load.
 * Fresh processes, one after the other, see the load swing between them by
 * more than most code changes gain; pairs in one process cancel most of it.
 *
 *   npx tsc -p tsconfig.build.json --outDir dist-base   # at the commit to compare with
 *   npx tsx bench/paired.ts dist-base dist [PAIRS] [MODEL K L] [--events-may-differ]
 *
 * Each build's `bench/launchPoint.js` is imported (the trees must sit in the
 * repository's root, beside `dist/`, so they find node_modules and models/);
 * each runs the point once untimed (JIT warm-up), then PAIRS times A, B, A, B,
 * ... Prints both medians, the median of the per-pair ratios B/A with its
 * range, and fails if the two builds disagree on the point's events or p99
 * (a change meant to be exact that is not; `--events-may-differ` for an exact
 * change that saves events: then the p99, mount operations and syscalls must
 * agree). The machine's identity and the
 * load average are printed with the numbers.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median } from '../src/bench/stats.ts';
import type { LaunchPointResult } from '../src/bench/launchPoint.ts';

type RunPoint = (model: string, k: number, l: number, variant?: string, shared?: boolean, warm?: number) => LaunchPointResult;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const eventsMayDiffer = argv.includes('--events-may-differ');
const [a, b, pairsArg = '6', model = 'r5.metal', kArg = '100', lArg = '50'] = argv.filter((x) => x !== '--events-may-differ');
if (!a || !b) {
  process.stderr.write('usage: tsx bench/paired.ts DIST_A DIST_B [PAIRS] [MODEL CONTAINERS LAYERS] [--events-may-differ]\n');
  process.exit(2);
}
const pairs = Number(pairsArg), k = Number(kArg), l = Number(lArg);

async function load(dir: string): Promise<RunPoint> {
  const mod = (await import(pathToFileURL(join(root, dir, 'bench', 'launchPoint.js')).href)) as { runLaunchPoint: RunPoint };
  return mod.runLaunchPoint;
}

const runA = await load(a);
const runB = await load(b);
const cpuModel = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
const loadBefore = loadavg()[0];
runA(model, k, l, 'per-layer-idmap', true, 0);
runB(model, k, l, 'per-layer-idmap', true, 0);
const ta: number[] = [], tb: number[] = [];
for (let i = 0; i < pairs; i++) {
  const ra = runA(model, k, l, 'per-layer-idmap', true, 0);
  const rb = runB(model, k, l, 'per-layer-idmap', true, 0);
  if ((!eventsMayDiffer && ra.events !== rb.events) || ra.launchP99S !== rb.launchP99S || ra.mountOps !== rb.mountOps || ra.syscalls !== rb.syscalls) {
    throw new Error(`${a} and ${b} disagree: events ${ra.events} / ${rb.events}, p99 ${ra.launchP99S} / ${rb.launchP99S}`);
  }
  ta.push(ra.simSeconds);
  tb.push(rb.simSeconds);
}
const ratios = ta.map((x, i) => tb[i] / x);
const f = (x: number) => x.toFixed(3);
process.stdout.write(
  `${model} ${k} x ${l}, warm simulate only, ${pairs} pairs in one process; ${cpuModel}, ${cpus().length} cpus, Linux ${release()}, Node ${process.version}, ` +
    `load average ${loadBefore.toFixed(2)} -> ${loadavg()[0].toFixed(2)}\n` +
    `${a}: median ${f(median(ta))} s [${ta.map(f).join(' ')}]\n` +
    `${b}: median ${f(median(tb))} s [${tb.map(f).join(' ')}]\n` +
    `${b}/${a}: median ratio ${f(median(ratios))} (${f(Math.min(...ratios))}-${f(Math.max(...ratios))})\n`,
);
