/**
 * Launch-simulation benchmarks (issues 3 and 14), appended to docs/benchmarks.md:
 *  (d) one Fig 3 point, 100 containers x 50 layers on r5.metal: whole-process
 *      wall time (median of 3 fresh processes, compiled and bundled dist/ as `locksim`
 *      runs) vs 0.6 s, its simulate-only time cold (same processes) and warm
 *      (after one in-process warm-up run), and events per mount operation vs 50;
 *      the same in detailed mode (`--detailed`: every spinner of a herd on its
 *      own, the mode before issue 14 item 4), for a before/after at the same load;
 *  (e) the whole Fig 3 sweep with 1 and 2 workers: wall times vs 30 s, and
 *      whether the result files are byte-identical;
 *  (f) 1,000 containers x 100 layers (~400,000 mount operations): peak RSS vs 2 GB;
 *  (g) how cost grows with the number of operations at fixed concurrency
 *      (50 containers, 10 to 100 layers): the exponent of time ~ ops^b fitted
 *      on warm simulate-only times (whole-process times too, for comparison);
 *  (h) the blog suite (the Fig 3, 5, 6, 9, 10 and 11 scenarios) as one command,
 *      `node bin/locksim.js run FILE... --workers 2 --no-charts` (one pool of
 *      workers for all six): wall time vs 30 s; beside it the six as separate
 *      commands, one process and pool each, and the one command with `--detailed`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join, resolve, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScenarioFile } from '../src/runner/runScenario.ts';
import { describeMachine, machineIdentity } from '../src/host/machineIdentity.ts';
import type { LaunchPointResult } from '../src/bench/launchPoint.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tsx = join(root, 'node_modules/.bin/tsx');
/** What bin/locksim.js would run: the bundle (scripts/bundle.mjs) when current, else the compiled modules. */
const builtPoints = [join(root, 'dist/bundle/launchPoint.js'), join(root, 'dist/bench/launchPoint.js')];

/** Whether `built` is at least as new as every source file (as bin/locksim.js decides). */
function isCurrent(built: string): boolean {
  if (!existsSync(built)) return false;
  const builtAt = statSync(built).mtimeMs;
  for (const name of readdirSync(join(root, 'src'), { recursive: true }) as string[]) {
    if (name.endsWith('.ts') && statSync(join(root, 'src', name)).mtimeMs > builtAt) return false;
  }
  return true;
}
const builtPoint = builtPoints.find(isCurrent);
const compiled = builtPoint !== undefined;
if (!compiled) process.stderr.write('dist/ is missing or older than src/: points run through tsx (run `npm run build` to time what locksim runs)\n');

interface PointRun extends LaunchPointResult { seconds: number }
/** One point in a fresh process; `seconds` is the whole process's wall time. */
function point(model: string, k: number, l: number, ...extra: string[]): PointRun {
  const [cmd, args] = builtPoint !== undefined ? [process.execPath, [builtPoint]] : [tsx, [join(root, 'bench/launchPoint.ts')]];
  const start = process.hrtime.bigint();
  const out = execFileSync(cmd, [...args, model, String(k), String(l), ...extra], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 20 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { ...JSON.parse(out.trim().split('\n').pop()!), seconds };
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spread = (xs: number[], digits = 2) => `${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)}`;
/** Least-squares slope of log(y) on log(x). */
function exponent(x: number[], y: number[]): number {
  const xs = x.map(Math.log), ys = y.map(Math.log);
  const mx = xs.reduce((a, b) => a + b) / xs.length, my = ys.reduce((a, b) => a + b) / ys.length;
  return xs.reduce((s, v, i) => s + (v - mx) * (ys[i] - my), 0) / xs.reduce((s, v) => s + (v - mx) ** 2, 0);
}

async function sweep(workers: number): Promise<{ seconds: number; csv: string; json: string }> {
  const out = mkdtempSync(join(tmpdir(), 'locksim-bench-fig3-'));
  try {
    const start = process.hrtime.bigint();
    await runScenarioFile(join(root, 'scenarios/fig3-instance-types.yaml'), { outDir: out, workers, charts: false });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return { seconds, csv: readFileSync(join(out, 'results.csv'), 'utf8'), json: readFileSync(join(out, 'results.json'), 'utf8') };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** The blog suite as one `locksim run` of every file: one process, one pool of 2 workers, no charts. */
function blogSuite(files: string[], detailed = false): { seconds: number; events: number; each: { file: string; seconds: number }[] } {
  const out = mkdtempSync(join(tmpdir(), 'locksim-bench-blog-'));
  try {
    const start = process.hrtime.bigint();
    const stdout = execFileSync(process.execPath, [join(root, 'bin/locksim.js'), 'run', ...files.map((f) => join(root, 'scenarios', f)), '--out', out, '--workers', '2', '--no-charts', '--json', ...(detailed ? ['--detailed'] : [])], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 28 }).toString();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const doc = JSON.parse(stdout) as { scenarios: { scenario: string; seconds: number; points: { metrics: Record<string, number> }[] }[] };
    const events = doc.scenarios.reduce((a, s) => a + s.points.reduce((b, p) => b + (p.metrics.events ?? 0), 0), 0);
    return { seconds, events, each: doc.scenarios.map((s, i) => ({ file: files[i]!, seconds: s.seconds })) };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** One blog scenario as its own command: a fresh `locksim run` process, 2 workers, no charts. */
function blogScenario(file: string, detailed = false): { file: string; seconds: number; events: number } {
  const out = mkdtempSync(join(tmpdir(), 'locksim-bench-blog-'));
  try {
    const start = process.hrtime.bigint();
    execFileSync(process.execPath, [join(root, 'bin/locksim.js'), 'run', join(root, 'scenarios', file), '--out', out, '--workers', '2', '--no-charts', '--force', ...(detailed ? ['--detailed'] : [])], { cwd: root, stdio: ['ignore', 'ignore', 'ignore'] });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const rows = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).points as { metrics: Record<string, number> }[];
    return { file, seconds, events: rows.reduce((a, p) => a + (p.metrics.events ?? 0), 0) };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
const loadBefore = loadavg()[0];
const d = [0, 1, 2].map(() => point('r5.metal', 100, 50));
const dSeconds = median(d.map((x) => x.seconds));
const dSim = median(d.map((x) => x.simSeconds));
const dWarm = [0, 1, 2].map(() => point('r5.metal', 100, 50, '--warm', '1'));
const dWarmSim = median(dWarm.map((x) => x.simSeconds));
const perOp = d[0].eventsPerMountOp;
process.stderr.write(`fig3 point: whole ${d.map((x) => x.seconds.toFixed(2)).join(', ')} s; simulate ${d.map((x) => x.simSeconds.toFixed(2)).join(', ')} s; warm ${dWarm.map((x) => x.simSeconds.toFixed(2)).join(', ')} s; ${perOp.toFixed(0)} events per mount op\n`);
// The same point in detailed mode (every spinner on its own), interleaved in time with nothing else.
const dd = [0, 1, 2].map(() => point('r5.metal', 100, 50, '--detailed'));
const ddWarm = [0, 1, 2].map(() => point('r5.metal', 100, 50, '--warm', '1', '--detailed'));
const ddSeconds = median(dd.map((x) => x.seconds));
const ddSim = median(dd.map((x) => x.simSeconds));
const ddWarmSim = median(ddWarm.map((x) => x.simSeconds));
process.stderr.write(`fig3 point, detailed: whole ${dd.map((x) => x.seconds.toFixed(2)).join(', ')} s; warm ${ddWarm.map((x) => x.simSeconds.toFixed(2)).join(', ')} s; ${dd[0].eventsPerMountOp.toFixed(0)} events per mount op\n`);

const one = await sweep(1);
const two = await sweep(2);
const identical = one.csv === two.csv && one.json === two.json;
process.stderr.write(`fig3 sweep: 1 worker ${one.seconds.toFixed(1)} s, 2 workers ${two.seconds.toFixed(1)} s, identical ${identical}\n`);

// With propagation this burst collapses and is cut at the horizon, so it would
// not run its ~400,000 operations: memory is measured with the layers' mount private.
const big = point('r5.metal', 1000, 100, 'per-layer-idmap', 'private');
process.stderr.write(`1000x100: ${big.seconds.toFixed(1)} s, ${big.maxRssMb.toFixed(0)} MB\n`);

const layers = [10, 25, 50, 100];
// Warm simulate-only times: each process runs its point once untimed first.
const g = layers.map((l) => point('r5.metal', 50, l, '--warm', '1'));
const slope = exponent(g.map((r) => r.syscalls), g.map((r) => r.simSeconds));
const slopeWhole = exponent(g.map((r) => r.syscalls), g.map((r) => r.seconds));
const slopeEvents = exponent(g.map((r) => r.syscalls), g.map((r) => r.events));
process.stderr.write(`exponent: warm simulate ~ ops^${slope.toFixed(2)}, whole process ~ ops^${slopeWhole.toFixed(2)}, events ~ ops^${slopeEvents.toFixed(2)}\n`);

const blogFiles = ['fig3-instance-types.yaml', 'fig5-numa.yaml', 'fig6-hyperthreading.yaml', 'fig9-architecture.yaml', 'fig10-pause-bench.yaml', 'fig11-common-parent-fix.yaml'];
const suite = blogSuite(blogFiles);
process.stderr.write(`blog suite, one command: ${suite.each.map((b) => `${b.file} ${b.seconds.toFixed(1)} s`).join(', ')}; total ${suite.seconds.toFixed(1)} s\n`);
const blog = blogFiles.map((f) => blogScenario(f));
const blogSeconds = blog.reduce((a, b) => a + b.seconds, 0);
process.stderr.write(`blog suite, a command each: ${blog.map((b) => `${b.file} ${b.seconds.toFixed(1)} s`).join(', ')}; total ${blogSeconds.toFixed(1)} s\n`);
const suiteDetailed = blogSuite(blogFiles, true);
process.stderr.write(`blog suite, one command, detailed: total ${suiteDetailed.seconds.toFixed(1)} s\n`);
const identity = (() => {
  try {
    return describeMachine(machineIdentity());
  } catch {
    return 'unknown machine';
  }
})();

const verdict = (ok: boolean) => (ok ? 'met' : 'missed');
const section = `
## Launch simulation (issues 3 and 14)

Written by \`npm run bench\` (\`tsx bench/launch.ts\`), ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, on ${identity}, Node ${process.version}; load average before: ${loadBefore.toFixed(2)}, after: ${loadavg()[0].toFixed(2)} (the machine is shared: other processes slow every time below).
Each point runs in a fresh process (\`node ${builtPoint !== undefined ? relative(root, builtPoint) : 'dist/bench/launchPoint.js'} MODEL K L\`${compiled ? ', compiled and bundled as locksim runs' : ': dist/ was stale, so through tsx'}), so its memory is its own; whole-process time is measured around that process, simulate-only time inside it (trace, machine, simulation; models loaded). Medians of 3, (min-max) in brackets.

| measurement | result | target | |
|---|---|---|---|
| (d) Fig 3 point, 100 containers x 50 layers, r5.metal: whole process | ${dSeconds.toFixed(2)} s (${spread(d.map((x) => x.seconds))}) | 0.6 s | ${verdict(dSeconds <= 0.6)} |
| (d) same point, simulate only: cold (first run in the process) / warm (after one run) | ${dSim.toFixed(2)} s (${spread(d.map((x) => x.simSeconds))}) / ${dWarmSim.toFixed(2)} s (${spread(dWarm.map((x) => x.simSeconds))}) | | |
| (d) events per mount operation | ${perOp.toFixed(0)} (${(d[0].events / 1e6).toFixed(2)}M events, ${d[0].mountOps} mount ops) | 50 | ${verdict(perOp <= 50)} |
| (d) same point in detailed mode (\`--detailed\`: every spinner of a herd on its own): whole process / simulate only, warm / events per mount op | ${ddSeconds.toFixed(2)} s (${spread(dd.map((x) => x.seconds))}) / ${ddWarmSim.toFixed(2)} s (${spread(ddWarm.map((x) => x.simSeconds))}) / ${dd[0].eventsPerMountOp.toFixed(0)} (cold simulate only ${ddSim.toFixed(2)} s) | | |
| (e) Fig 3 sweep (18 points), 2 workers | ${two.seconds.toFixed(1)} s (1 worker: ${one.seconds.toFixed(1)} s, speed-up ${(one.seconds / two.seconds).toFixed(2)}x) | 30 s | ${verdict(two.seconds <= 30)} |
| (e) same results with 1 and 2 workers | ${identical ? 'byte-identical results.csv and results.json' : 'DIFFERENT'} | identical | ${verdict(identical)} |
| (f) 1,000 containers x 100 layers (${big.mountOps} mount ops, ${big.syscalls} syscalls), r5.metal, layers' mount private (no propagation: every launch runs to its end; ${big.unfinished} unfinished) | peak RSS ${big.maxRssMb.toFixed(0)} MB, ${big.seconds.toFixed(1)} s | 2 GB | ${verdict(big.maxRssMb <= 2048)} |
| (g) cost vs operations at 50 containers (layers ${layers.join(', ')}), warm simulate-only | time ~ ops^${slope.toFixed(2)} (whole process ~ ops^${slopeWhole.toFixed(2)}), events ~ ops^${slopeEvents.toFixed(2)} | about linear | ${verdict(slope < 1.25)} |
| (h) blog suite: Figs 3, 5, 6, 9, 10, 11 scenarios as one command, \`locksim run FILE... --workers 2 --no-charts\` (one pool of workers for the six) | ${suite.seconds.toFixed(1)} s (${(suite.events / 1e6).toFixed(0)}M events) | 30 s | ${verdict(suite.seconds <= 30)} |
| (h) the six as separate commands (a process and a pool each), one after another | ${blogSeconds.toFixed(1)} s (${(blog.reduce((a, b) => a + b.events, 0) / 1e6).toFixed(0)}M events) | | |
| (h) the one command with \`--detailed\` | ${suiteDetailed.seconds.toFixed(1)} s (${(suiteDetailed.events / 1e6).toFixed(0)}M events) | | |

(g) is fitted on warm simulate-only times, so neither the process start nor the JIT's warm-up flattens it; the whole-process exponent beside it includes both.

Points of (g): ${g.map((r, i) => `${layers[i]} layers: ${r.syscalls} syscalls, warm ${r.simSeconds.toFixed(2)} s, whole ${r.seconds.toFixed(2)} s, ${(r.events / 1e6).toFixed(1)}M events`).join('; ')}.

Blog suite, per scenario: in the one command ${suite.each.map((b) => `${b.file} ${b.seconds.toFixed(1)} s`).join('; ')}; as separate commands ${blog.map((b) => `${b.file} ${b.seconds.toFixed(1)} s`).join('; ')}. The one command starts Node once and its two worker threads load and compile the simulator once, so every scenario after the first runs on warm code (the same results: test/cli.test.ts compares the bytes).
`;
const docPath = join(root, 'docs/benchmarks.md');
const doc = readFileSync(docPath, 'utf8');
// Replace this section (under its old or new title), keep the sections after it.
const start = ['\n## Launch simulation (issues 3 and 14)\n', '\n## Launch simulation (issue 3)\n'].map((m) => doc.indexOf(m)).find((i) => i >= 0) ?? -1;
const before = start >= 0 ? doc.slice(0, start) : doc.trimEnd() + '\n';
const nextSection = start >= 0 ? doc.indexOf('\n## ', start + 1) : -1;
const after = nextSection >= 0 ? doc.slice(nextSection) : '';
writeFileSync(docPath, before + section + after);
process.stdout.write(section);
