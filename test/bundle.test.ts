// The bundles of the build (scripts/bundle.mjs: dist/bundle/main.js, worker.js,
// launchPoint.js, what bin/locksim.js, the worker pool and the launch bench
// run) do what the compiled modules of dist/ do: the same launch point, the
// same result files with worker threads (the worker bundle, found next to the
// bundled pool), the models found from the bundle's folder, and parsed by the
// yaml package (bundled into the CLI, required at the first parse elsewhere).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const bundle = resolve('dist/bundle');
const built = existsSync(join(bundle, 'main.js')) && existsSync(join(bundle, 'worker.js')) && existsSync(join(bundle, 'launchPoint.js'));
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
});
