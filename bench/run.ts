/**
 * `npm run bench`: the performance targets of the issue, measured on this machine.
 *
 *  (a) the engine's raw event loop: events per second with trivial handlers,
 *      at least 10M events, median of 5 runs; target 5M events/s; SimPy
 *      (Debian's python3-simpy) runs the same loop in the same run
 *      (bench/simpy_engine.py), so the ratio is measured;
 *  (b) the full lock-microbenchmark sweep (bench/full-sweep.yaml: every model
 *      preset plus r5.metal on one socket and m7i HT off, qspinlock and ttas,
 *      1..96 threads, 10 ms simulated per point) with 2 workers; target 20 s wall;
 *  (c) peak resident memory; target 500 MB. Workers are threads of this
 *      process, so the process's maxRSS covers them.
 *
 * Prints a markdown table and writes docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Simulator, type EventTarget } from '../src/engine/simulator.ts';
import { runScenarioFile } from '../src/runner/runScenario.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sweepFile = join(root, 'bench/full-sweep.yaml');

const ENGINE_EVENTS = 10_000_000;
const ENGINE_RUNS = 5;
const ENGINE_TARGET = 5_000_000;
const SIMPY_EVENTS = 1_000_000;
const SIMPY_RUNS = 3;
const SWEEP_TARGET_S = 20;
const SWEEP_WORKERS = 2;
const RSS_TARGET_MB = 500;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * 1,000 entities, each rescheduling itself on every event with a delay drawn
 * from a precomputed table: the heap holds ~1,000 entries, like a 96-thread
 * machine with its lines and timers, and the handler does nothing else.
 */
function engineRun(events: number): number {
  const sim = new Simulator();
  const delays = new Float64Array(4096);
  let x = 12345;
  for (let i = 0; i < delays.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    delays[i] = 1 + (x % 1000);
  }
  let k = 0;
  const targets: EventTarget[] = [];
  for (let i = 0; i < 1000; i++) {
    const t: EventTarget = {
      fire() {
        if (sim.eventsFired < events) sim.schedule(delays[k++ & 4095], t);
      },
    };
    targets.push(t);
    sim.schedule(delays[i], t);
  }
  const start = process.hrtime.bigint();
  sim.run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return sim.eventsFired / seconds;
}

/** SimPy's rates on the same loop, from Debian's python3-simpy; undefined where it is not installed. */
function simpyRates(): { simpy: string; rates: number[] } | undefined {
  try {
    const out = execFileSync('/usr/bin/python3', [join(root, 'bench/simpy_engine.py'), String(SIMPY_EVENTS), String(SIMPY_RUNS)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return JSON.parse(out.trim().split('\n').pop()!) as { simpy: string; rates: number[] };
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  // Other processes on the machine slow every number below; the load is recorded with them.
  const loadBefore = loadavg()[0];
  // (a) engine
  engineRun(1_000_000); // warm up the JIT
  const rates: number[] = [];
  for (let i = 0; i < ENGINE_RUNS; i++) rates.push(engineRun(ENGINE_EVENTS));
  const engineRate = median(rates);
  process.stderr.write(`engine: ${rates.map((r) => (r / 1e6).toFixed(2)).join(', ')} M events/s\n`);
  const simpy = simpyRates();
  const simpyRate = simpy ? median(simpy.rates) : undefined;
  process.stderr.write(simpy ? `simpy ${simpy.simpy}: ${simpy.rates.map((r) => (r / 1e6).toFixed(2)).join(', ')} M events/s\n` : 'simpy: not available (apt-get install python3-simpy)\n');

  // (b) full sweep
  const out = mkdtempSync(join(tmpdir(), 'locksim-bench-'));
  let sweepSeconds: number;
  let points: number;
  let simEvents = 0;
  try {
    const start = process.hrtime.bigint();
    const { run } = await runScenarioFile(sweepFile, { outDir: out, workers: SWEEP_WORKERS, charts: false });
    sweepSeconds = Number(process.hrtime.bigint() - start) / 1e9;
    points = run.points.length;
    for (const p of run.points) simEvents += p.metrics.events ?? 0;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  process.stderr.write(`sweep: ${points} points in ${sweepSeconds.toFixed(1)} s\n`);

  // (c) memory (kB -> MB)
  const peakMb = process.resourceUsage().maxRSS / 1024;

  const cpuModel = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  const commit = (() => {
    try {
      return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  })();
  const verdict = (ok: boolean) => (ok ? 'met' : 'missed');
  const table = [
    '| measurement | result | target | ratio (result / target) | |',
    '|---|---|---|---|---|',
    `| (a) engine event loop, median of ${ENGINE_RUNS} x ${ENGINE_EVENTS / 1e6}M events | ${(engineRate / 1e6).toFixed(2)} M events/s | ${ENGINE_TARGET / 1e6} M events/s | ${(engineRate / ENGINE_TARGET).toFixed(2)} (${simpyRate ? `${(engineRate / simpyRate).toFixed(1)}x SimPy's ${(simpyRate / 1e6).toFixed(2)} M/s, measured in this run` : 'SimPy not installed'}) | ${verdict(engineRate >= ENGINE_TARGET)} |`,
    `| (b) full microbenchmark sweep, ${points} points, ${SWEEP_WORKERS} workers | ${sweepSeconds.toFixed(1)} s wall (${(simEvents / 1e6).toFixed(0)}M simulated events, ${(simEvents / sweepSeconds / 1e6).toFixed(2)} M events/s) | ${SWEEP_TARGET_S} s | ${(sweepSeconds / SWEEP_TARGET_S).toFixed(2)} | ${verdict(sweepSeconds <= SWEEP_TARGET_S)} |`,
    `| (c) peak RSS (main thread + worker threads, one process) | ${peakMb.toFixed(0)} MB | ${RSS_TARGET_MB} MB | ${(peakMb / RSS_TARGET_MB).toFixed(2)} | ${verdict(peakMb <= RSS_TARGET_MB)} |`,
  ].join('\n');
  process.stdout.write(table + '\n');

  const doc = `# Benchmarks

Written by \`npm run bench\` (\`tsx bench/run.ts\`); re-run it to refresh this file.

- Date: ${new Date().toISOString().slice(0, 10)}
- Machine: ${cpuModel}, ${availableParallelism()} logical CPUs (nproc), Node ${process.version}, ${process.platform}
- Load average (1 min) before the run: ${loadBefore.toFixed(2)}; after: ${loadavg()[0].toFixed(2)} (other processes share the ${availableParallelism()} CPUs and slow (a) and (b))
- Commit: ${commit}
- Command: \`npm run bench\`

${table}

Engine runs (M events/s): ${rates.map((r) => (r / 1e6).toFixed(2)).join(', ')}.

What each line measures:

- **(a)** \`Simulator.run\` alone: 1,000 entities each rescheduling itself with a
  table-drawn delay, so the heap holds ~1,000 events and the handler does no work.
  This is the ceiling for any simulation; the issue's target is 5 M events/s.
  SimPy ${simpy?.simpy ?? '(not installed)'} runs the same loop in the same run (\`bench/simpy_engine.py\`,
  ${SIMPY_RUNS} x ${SIMPY_EVENTS / 1e6}M events${simpy ? `: ${simpy.rates.map((r) => (r / 1e6).toFixed(2)).join(', ')} M events/s` : ''}).
- **(b)** \`bench/full-sweep.yaml\` through \`runScenarioFile\` (validation, points,
  simulation on a piscina pool of ${SWEEP_WORKERS} workers, result files; charts off):
  the 7 hardware presets plus r5.metal on one socket and m7i.metal-24xl with HT off,
  qspinlock and ttas, threads 1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 80, 96, 10 ms
  simulated per point. Simulated events include threads, cache-line transfers and
  scheduler ticks.
- **(c)** \`process.resourceUsage().maxRSS\` at the end of the run. Piscina
  workers are threads of this process, so their memory is included.
`;
  // Replace only this head: the sections after it (other benches', hand-written ones) stay.
  const docPath = join(root, 'docs/benchmarks.md');
  let rest = '';
  try {
    const old = readFileSync(docPath, 'utf8');
    const firstSection = old.indexOf('\n## ');
    if (firstSection >= 0) rest = old.slice(firstSection);
  } catch {
    // no file yet
  }
  writeFileSync(docPath, doc + rest);
  process.stderr.write('wrote docs/benchmarks.md\n');
}

await main();
