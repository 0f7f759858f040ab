/**
 * Start time of the command line (issue 12), appended to docs/benchmarks.md:
 * `node bin/locksim.js --help` as `npm ci` leaves it (compiled dist/), beside
 * the same command through tsx (the sources, as before there was a build) and
 * beside `node -e 0` (the floor: Node's own start on this machine). Median of
 * 5 fresh processes each, with the spread (min-max), the machine's identity
 * and the load average, since the machine is shared.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = 5;

function time(args: string[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    out.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return out.sort((a, b) => a - b);
}
const median = (xs: number[]) => xs[Math.floor(xs.length / 2)]!;
const fmt = (xs: number[]) => `${median(xs).toFixed(3)} s (${xs[0]!.toFixed(3)}-${xs[xs.length - 1]!.toFixed(3)})`;

// Always build: bin/locksim.js runs the sources through tsx when dist/ is older than src/.
execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
const loadBefore = loadavg()[0];
// Warm the file cache once, so the first measured run is not a cold disk read.
time(['bin/locksim.js', '--help']);
const floor = time(['-e', '0']);
const compiled = time(['bin/locksim.js', '--help']);
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

| command | wall time |
|---|---|
| \`node -e 0\` (Node's own start: the floor) | ${fmt(floor)} |
| \`locksim --help\` (\`node bin/locksim.js\`, compiled \`dist/\`) | ${fmt(compiled)} |
| \`locksim --help\` through tsx (\`node --import tsx src/cli/main.ts\`) | ${fmt(viaTsx)} |

The compiled start is ${(median(compiled) - median(floor)).toFixed(3)} s above Node's own; tsx adds ${(median(viaTsx) - median(compiled)).toFixed(3)} s more (it compiles every source file at each start).
`;
const docPath = join(root, 'docs/benchmarks.md');
const doc = readFileSync(docPath, 'utf8');
const marker = '\n## Start time (issue 12)\n';
writeFileSync(docPath, (doc.includes(marker) ? doc.slice(0, doc.indexOf(marker)) : doc.trimEnd() + '\n') + section);
process.stdout.write(section);
