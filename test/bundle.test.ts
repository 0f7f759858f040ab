// The bundles of the build (scripts/bundle.mjs: dist/bundle/main.cjs,
// worker.cjs, launchPoint.cjs, run by the stubs main.js, worker.js and
// launchPoint.js that bin/locksim.js, the worker pool and the launch bench
// load) do what the compiled modules of dist/ do: the same launch point, the
// same result files with worker threads (the worker stub, found next to the
// bundled pool), the models found from the bundle's folder, and parsed by the
// yaml package (bundled into the CLI, required at the first parse elsewhere);
// and run from V8's code cache (src/bundleLoader.ts) they still do, charts
// (vega and vega-lite, their own bundle: src/report/chartLibraries.ts) included.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const bundle = resolve('dist/bundle');
const built = ['main', 'worker', 'launchPoint'].every((n) => existsSync(join(bundle, `${n}.js`)) && existsSync(join(bundle, `${n}.cjs`))) && existsSync(join(bundle, 'charts.cjs'));
const skip = built ? '' : 'skipped: dist/bundle not built (npm run build)';

function node(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
  expect(r.status, `node ${args.join(' ')} failed: ${r.stderr}`).toBe(0);
  return r.stdout;
}

const scenario = `
name: bundle
kind: lock-microbench
seed: 3
variants:
  - label: m7i small
    machine: { model: m7i.metal-24xl, cores: 4 }
  - label: m7a
    machine: { model: m7a.24xlarge }
microbench:
  lock: ticket
  threads: [1, 6]
  criticalSectionNs: 100
  thinkNs: 300
  distribution: exponential
  durationNs: 100000
  placement: scatter
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'locksim-bundle-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!built)(`bundles of dist/ ${skip}`, () => {
  it('the bundled launch point gives the compiled one\'s events, operations and p99', () => {
    const point = (file: string, env: Record<string, string> = {}) => {
      const r = JSON.parse(node([file, 'r5.metal', '3', '2'], env));
      delete r.simSeconds;
      delete r.maxRssMb;
      return r;
    };
    const fromBundle = point(join(bundle, 'launchPoint.js'));
    expect(fromBundle.events).toBeGreaterThan(0);
    expect(fromBundle).toEqual(point(resolve('dist/bench/launchPoint.js')));
    // With the model cache off the bundle parses the model files itself: yaml,
    // outside this bundle, required at the first parse through the bundle's `require`.
    expect(point(join(bundle, 'launchPoint.js'), { LOCKSIM_CACHE_DIR: 'off' })).toEqual(fromBundle);
  });

  it('the bundled CLI with 2 worker threads writes the result files of the compiled CLI with 1', () => {
    const file = join(dir, 'bundle.yaml');
    writeFileSync(file, scenario);
    node([join(bundle, 'main.js'), 'run', file, '--out', join(dir, 'bundled'), '--workers', '2', '--no-charts']);
    node([resolve('dist/cli/main.js'), 'run', file, '--out', join(dir, 'modules'), '--workers', '1', '--no-charts']);
    for (const f of ['results.csv', 'results.json']) {
      const a = readFileSync(join(dir, 'bundled', f));
      expect(a.length).toBeGreaterThan(0);
      expect(a.equals(readFileSync(join(dir, 'modules', f))), `${f} differs`).toBe(true);
    }
  });

  it('from the code cache, with workers and charts, the CLI writes the compiled modules\' files', () => {
    const file = join(dir, 'cached.yaml');
    writeFileSync(file, scenario);
    const cache = join(dir, 'code-cache');
    const run = (out: string) => node([join(bundle, 'main.js'), 'run', file, '--out', join(dir, out), '--workers', '2'], { LOCKSIM_CACHE_DIR: cache });
    run('first');
    const written = readdirSync(join(cache, 'code')).sort();
    // The CLI's bundle, vega's (the charts) and the workers' (both threads start together: one entry).
    expect(written.map((f) => f.replace(/-[0-9a-f]+\.v8$/, ''))).toEqual(['charts.cjs', 'main.cjs', 'worker.cjs']);
    const stamps = () => written.map((f) => statSync(join(cache, 'code', f)).mtimeMs);
    const before = stamps();
    run('second');
    // Read and accepted, not written again.
    expect(readdirSync(join(cache, 'code')).sort()).toEqual(written);
    expect(stamps()).toEqual(before);
    node([resolve('dist/cli/main.js'), 'run', file, '--out', join(dir, 'compiled'), '--workers', '1']);
    const files = readdirSync(join(dir, 'compiled')).filter((f) => f !== 'manifest.json');
    expect(files.filter((f) => f.endsWith('.png')).length).toBeGreaterThan(0);
    for (const out of ['first', 'second']) {
      for (const f of files) expect(readFileSync(join(dir, out, f)).equals(readFileSync(join(dir, 'compiled', f))), `${out}/${f} differs`).toBe(true);
    }
  });

  it('each stub names its bundle\'s hash: the model cache\'s fingerprint of the validating code (the stub\'s text) changes with the bundle', () => {
    for (const name of ['main', 'worker', 'launchPoint']) {
      const hash = createHash('sha256').update(readFileSync(join(bundle, `${name}.cjs`))).digest('hex');
      expect(readFileSync(join(bundle, `${name}.js`), 'utf8')).toContain(`${name}.cjs sha256 ${hash}`);
    }
  });

  it('vega and vega-lite from the charts bundle draw the SVG the packages draw', async () => {
    const { lineChartSpec, renderSvg } = await import('../src/report/charts.ts');
    const points = [1, 2, 4, 8].flatMap((x) => ['a', 'b'].map((variant, i) => ({ variant, x, key: `${variant}|${x}`, seed: 's', metrics: { p50: x * (i + 1), p99: x * (i + 3) } })));
    const spec = lineChartSpec({ title: 'bundle', points, xLabel: 'threads', yMetric: 'p50', yLabel: 'ns', xScale: 'log', band: { lo: 'p50', hi: 'p99' } });
    const specFile = join(dir, 'spec.json');
    writeFileSync(specFile, JSON.stringify(spec));
    // From the sources (no dist/bundle beside src/): the packages.
    const fromPackages = await renderSvg(spec);
    // From dist/: chartLibraries.ts finds dist/bundle/charts.cjs.
    const script = `import { renderSvg } from ${JSON.stringify(pathToFileURL(resolve('dist/report/charts.js')).href)}; import { readFileSync } from 'node:fs'; process.stdout.write(await renderSvg(JSON.parse(readFileSync(${JSON.stringify(specFile)}, 'utf8'))));`;
    const fromBundle = node(['--input-type=module', '-e', script], { LOCKSIM_CACHE_DIR: join(dir, 'svg-cache') });
    expect(readdirSync(join(dir, 'svg-cache', 'code')).some((f) => f.startsWith('charts.cjs-'))).toBe(true);
    expect(fromBundle.length).toBeGreaterThan(1000);
    expect(fromBundle).toBe(fromPackages);
  });
});
