// Results depend on the scenario and its seed only: never on how many worker
// threads simulated the points, nor in which order they finished. A different
// seed gives different samples. Runs go through bin/locksim.js, as a user's would.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const bin = resolve('bin/locksim.js');
let dir: string;
let scenarioFile: string;

// Two machines of different fabrics, a few thread counts (one beyond the
// cpus of the smaller variant, so time slicing is exercised), short runs.
const scenario = `
name: determinism
kind: lock-microbench
seed: 7
variants:
  - label: m7i small
    machine: { model: m7i.metal-24xl, cores: 4 }
  - label: m7a
    machine: { model: m7a.24xlarge }
microbench:
  lock: ttas
  threads: [1, 3, 12, 24]
  criticalSectionNs: 100
  thinkNs: 300
  distribution: exponential
  durationNs: 200000
  placement: scatter
`;

function run(out: string, ...flags: string[]) {
  const r = spawnSync(process.execPath, [bin, 'run', scenarioFile, '--out', out, ...flags], { encoding: 'utf8', timeout: 120_000 });
  expect(r.status, `locksim run ${flags.join(' ')} failed: ${r.stderr}`).toBe(0);
  return r;
}

const files = (out: string) => readdirSync(out).sort();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'locksim-det-'));
  scenarioFile = join(dir, 'determinism.yaml');
  writeFileSync(scenarioFile, scenario);
  run(join(dir, 'w1'), '--workers', '1');
  run(join(dir, 'w2'), '--workers', '2');
  run(join(dir, 'w2-again'), '--workers', '2');
  run(join(dir, 'seed8'), '--workers', '2', '--seed', '8');
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('determinism', () => {
  it('writes results.csv, results.json and SVG charts', () => {
    const names = files(join(dir, 'w1'));
    expect(names).toContain('results.csv');
    expect(names).toContain('results.json');
    expect(names.filter((f) => f.endsWith('.svg')).length).toBeGreaterThan(0);
  });

  it('1 worker and 2 workers give byte-identical result files and charts', () => {
    const w1 = files(join(dir, 'w1'));
    expect(files(join(dir, 'w2'))).toEqual(w1);
    for (const f of w1) {
      const a = readFileSync(join(dir, 'w1', f));
      const b = readFileSync(join(dir, 'w2', f));
      expect(a.equals(b), `${f} differs between --workers 1 and --workers 2`).toBe(true);
    }
  });

  it('two runs with 2 workers give byte-identical files (completion order does not matter)', () => {
    for (const f of files(join(dir, 'w2'))) {
      expect(readFileSync(join(dir, 'w2', f)).equals(readFileSync(join(dir, 'w2-again', f))), f).toBe(true);
    }
  });

  it('a different --seed changes the samples of every point with contention, and records the seed', () => {
    type Run = { scenario: { seed: number }; points: { key: string; seed: string; metrics: Record<string, number> }[] };
    const a = JSON.parse(readFileSync(join(dir, 'w2', 'results.json'), 'utf8')) as Run;
    const b = JSON.parse(readFileSync(join(dir, 'seed8', 'results.json'), 'utf8')) as Run;
    expect(a.scenario.seed).toBe(7);
    expect(b.scenario.seed).toBe(8);
    expect(b.points.map((p) => p.key)).toEqual(a.points.map((p) => p.key));
    for (let i = 0; i < a.points.length; i++) {
      expect(b.points[i].seed, a.points[i].key).not.toBe(a.points[i].seed);
      // Exponential think and critical-section draws differ, so the counts and latencies do.
      expect(b.points[i].metrics, a.points[i].key).not.toEqual(a.points[i].metrics);
    }
    expect(readFileSync(join(dir, 'seed8', 'results.csv')).equals(readFileSync(join(dir, 'w2', 'results.csv')))).toBe(false);
  });
});
