/**
 * Start time of the command line (issue 12), appended to docs/benchmarks.md:
 * `node bin/locksim.js --help` as `npm ci` leaves it (compiled dist/, bundled
 * into dist/bundle/main.cjs and run from V8's code cache, src/bundleLoader.ts),
 * beside the same bundle without the code cache (LOCKSIM_CACHE_DIR=off),
 * beside the compiled modules without the bundle
 * (`node dist/cli/main.js --help`), beside
 * the same command through tsx (the sources, as before there was a build) and
 * beside `node -e 0` (the floor: Node's own start on this machine). Median of
 * 5 fresh processes each, with the spread (min-max), the machine's identity
 * and the load average, since the machine is shared.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = 5;

interface Timing { wall: number[]; cpu: number[] }

/**
 * Wall time of RUNS fresh processes and, where /usr/bin/time exists, their CPU
 * time (user + system): on a shared machine the wall time grows with the
 * load, the CPU time much less, so it is the better estimate of the start on
 * a quiet machine.
 */
function time(args: string[], env: Record<string, string> = {}): Timing {
  const wall: number[] = [];
  const cpu: number[] = [];
  const gnuTime = existsSync('/usr/bin/time');
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    const r = gnuTime
      ? spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } })
      : spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });
    wall.push(Number(process.hrtime.bigint() - t0) / 1e9);
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    if (gnuTime) {
      const m = /(\d+\.\d+) (\d+\.\d+)\s*$/.exec(r.stderr);
      if (m) cpu.push(Number(m[1]) + Number(m[2]));
    }
  }
  return { wall: wall.sort((a, b) => a - b), cpu: cpu.sort((a, b) => a - b) };
}
const median = (xs: number[]) => xs[Math.floor(xs.length / 2)]!;
const fmt = (xs: number[]) => (xs.length === 0 ? '-' : `${median(xs).toFixed(3)} s (${xs[0]!.toFixed(3)}-${xs[xs.length - 1]!.toFixed(3)})`);

// Always build: bin/locksim.js runs the sources through tsx when dist/ is older than src/.
execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
const loadBefore = loadavg()[0];
// Warm the file cache once, so the first measured run is not a cold disk read.
time(['bin/locksim.js', '--help']);
const floor = time(['-e', '0']);
const compiled = time(['bin/locksim.js', '--help']);
const uncached = time(['bin/locksim.js', '--help'], { LOCKSIM_CACHE_DIR: 'off' });
const modules = time(['dist/cli/main.js', '--help']);
const viaTsx = time(['--import', 'tsx', 'src/cli/main.ts', '--help']);
const lscpu = (() => {
  try {
    const text = execFileSync('lscpu', { encoding: 'utf8' });
    const field = (name: string) => text.match(new RegExp(`^${name}:\\s*(.+)$`, 'm'))?.[1]?.trim() ?? '?';
    return `${field('Model name')}, family ${field('CPU family')}, model ${field('Model')}`;
  } catch {
    return cpus()[0]?.model ?? 'unknown CPU';
  }
})();

const section = `
## Start time (issue 12)

Written by \`npm run bench\` (\`tsx bench/start.ts\`), ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, on ${lscpu}, ${cpus().length} logical CPUs, Linux ${release()}, Node ${process.version}; load average before: ${loadBefore.toFixed(2)}, after: ${loadavg()[0].toFixed(2)} (the machine is shared: read the floor beside each number).
Median of ${RUNS} fresh processes, (min-max) in brackets.

| command | wall time | CPU time (user + system) |
|---|---|---|
| \`node -e 0\` (Node's own start: the floor) | ${fmt(floor.wall)} | ${fmt(floor.cpu)} |
| \`locksim --help\` (\`node bin/locksim.js\`, compiled \`dist/\`, one bundled file: \`dist/bundle/main.cjs\`, run from V8's code cache) | ${fmt(compiled.wall)} | ${fmt(compiled.cpu)} |
| the same bundle without the code cache (\`LOCKSIM_CACHE_DIR=off\`) | ${fmt(uncached.wall)} | ${fmt(uncached.cpu)} |
| the same from the compiled modules without the bundle (\`node dist/cli/main.js --help\`) | ${fmt(modules.wall)} | ${fmt(modules.cpu)} |
| \`locksim --help\` through tsx (\`node --import tsx src/cli/main.ts\`) | ${fmt(viaTsx.wall)} | ${fmt(viaTsx.cpu)} |

The compiled start is ${(median(compiled.wall) - median(floor.wall)).toFixed(3)} s of wall time above Node's own (${(median(uncached.wall) - median(floor.wall)).toFixed(3)} s without the code cache, ${(median(modules.wall) - median(floor.wall)).toFixed(3)} s from the modules without the bundle); tsx adds ${(median(viaTsx.wall) - median(compiled.wall)).toFixed(3)} s more (it compiles every source file at each start). The CPU time is what the start costs without other work competing for the 2 CPUs: on a quiet machine the wall time is close to it.
`;
const docPath = join(root, 'docs/benchmarks.md');
const doc = readFileSync(docPath, 'utf8');
const marker = '\n## Start time (issue 12)\n';
// Replace this section only: the sections after it (written by hand or by other benches) stay.
if (doc.includes(marker)) {
  const at = doc.indexOf(marker);
  const next = doc.indexOf('\n## ', at + marker.length);
  writeFileSync(docPath, doc.slice(0, at) + section + (next >= 0 ? doc.slice(next) : ''));
} else {
  writeFileSync(docPath, doc.trimEnd() + '\n' + section);
}
process.stdout.write(section);
