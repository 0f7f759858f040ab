// `--json`: stdout is exactly one JSON document (progress and messages on
// stderr), and the plain run output opens with the computed findings.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runLocksim, type Outcome } from './helpers/cli.ts';

let dir: string;

const locksim = (args: string[]): Promise<Outcome> => runLocksim(dir, args);

// Two machines, a health check the 2-core machine misses at 6 containers.
const tiny = `name: tiny
kind: launch
seed: 1
variants:
  - label: two-core
    machine: { model: generic-2core }
  - label: m7a
    machine: { model: m7a.24xlarge }
launch:
  containers: [2, 6]
  variant: per-layer-idmap
  layers: 3
  healthCheckTimeoutNs: 100000000
`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'locksim-json-'));
  writeFileSync(join(dir, 'tiny.yaml'), tiny);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('locksim run', () => {
  it('--json prints one JSON document with findings, points and files; progress stays on stderr', async () => {
    const r = await locksim(['run', 'tiny.yaml', '--out', 'j', '--no-charts', '--workers', '1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.scenario).toBe('tiny');
    expect(doc.points).toHaveLength(4);
    expect(doc.points[0].metrics.launchP99S).toBeGreaterThan(0);
    expect(doc.files).toContain('results.json');
    expect(doc.findings[0]).toMatch(/^two-core starts failing at 6 containers \((none|\d+%) launched within the 100 ms health check\); m7a launches every container up to 6\.$/);
    expect(r.stderr).toMatch(/\[4\/4\]/);
  });

  it('without --json opens with the findings, then the table in human units, then one line per kind of file', async () => {
    const r = await locksim(['run', 'tiny.yaml', '--out', 't', '--workers', '1']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^tiny: 4 points in [\d.]+ s$/);
    expect(lines[2]).toMatch(/^ {2}two-core starts failing at 6 containers/);
    expect(r.stdout).toMatch(/^variant\s+containers\s+p50 launch\s+p99 launch\s+launched in time/m);
    expect(r.stdout).toMatch(/^m7a\s+2\s+[\d.]+ ms\s+[\d.]+ ms\s+100%/m);
    expect(r.stdout).toMatch(/^wrote \d+ files to t\/$/m);
    expect(r.stdout).toMatch(/^ {2}charts: \d+ \(\.vl\.json \.svg \.png\), e\.g\. t\//m);
    expect(r.stdout).not.toMatch(/\d\.\d+e-\d/);
  });
});

describe('locksim models --json', () => {
  it('prints every model as one document', async () => {
    const r = await locksim(['models', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const models = JSON.parse(r.stdout) as { name: string }[];
    expect(models.map((m) => m.name)).toContain('r5.metal');
  });
});

describe('host commands with --json', () => {
  const noProbe = !existsSync(resolve('probes/build/lockbench'));
  if (noProbe) console.warn('skipped: probes/build/lockbench not built (no C compiler at npm ci)');

  it.skipIf(noProbe)('measure lockbench --json prints the measurement it wrote', async () => {
    const r = await locksim(['measure', 'lockbench', '--threads', '2', '--duration', '20', '--out', 'lb.json', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.kind).toBe('lockbench');
    expect(doc.results.acquisitionsPerSec).toBeGreaterThan(0);
  });

  it('host topology --json prints the model it wrote', async () => {
    const r = await locksim(['host', 'topology', '--out', 'host.yaml', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const model = JSON.parse(r.stdout);
    expect(model.name).toBe('host');
    expect(model.topology.sockets).toBeGreaterThanOrEqual(1);
  });
});
