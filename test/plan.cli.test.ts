// `locksim plan` from the command line: a bad plan file is exit 2 and one
// line naming file:line:col and field, with no JSON written; a good one prints
// the table, writes the JSON and shows one progress line per point on a
// non-terminal stderr; Ctrl-C stops it with exit 130 and no JSON file.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const bin = resolve('bin/locksim.js');
let dir: string;

// 3 candidates x (4 bursts + alternatives) x 2 replications of 3-layer images: quick, yet many points.
const plan = `name: cli
seed: 2
workload: { variant: per-layer-idmap, layers: 3 }
burst: 6
objective: { p99LaunchS: 0.3 }
search: { bursts: [2, 4, 6, 8] }
replications: 2
candidates: [m7a.24xlarge, m7i.metal-24xl, r5.metal]
`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'locksim-plan-cli-'));
  writeFileSync(join(dir, 'plan.yaml'), plan);
  // `candidates` misspelt: the misspelling is reported, at its key (line 8, column 1)
  writeFileSync(join(dir, 'bad.yaml'), plan.replace('candidates:', 'candidate:'));
});

const locksim = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });

describe('locksim plan', () => {
  it('a bad plan file: exit 2, one located line, nothing written', () => {
    const r = locksim('plan', 'bad.yaml', '--json', 'out.json');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^bad\.yaml:8:1: candidate: expected one of the fields name, description, seed, workload, burst, objective, search, replications, confidence, candidates, alternatives, ablate, got an unknown field\n$/);
    expect(existsSync(join(dir, 'out.json'))).toBe(false);
  });

  it('a good plan: table on stdout, JSON written, a progress line per point', () => {
    const r = locksim('plan', 'plan.yaml', '--json', 'good.json', '--workers', '2');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('rank  candidate');
    expect(r.stdout).toContain('wrote good.json');
    const json = JSON.parse(readFileSync(join(dir, 'good.json'), 'utf8'));
    expect(json.format).toBe('locksim-plan');
    const lines = r.stderr.split('\n').filter((l) => /^\[\d+\/\d+\] /.test(l));
    expect(lines.length).toBe(json.points.length);
  });

  it('--json without a file: stdout is one JSON document with a safe burst for every machine; progress on stderr', () => {
    const r = locksim('plan', 'plan.yaml', '--json', '--workers', '2');
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.format).toBe('locksim-plan');
    expect(json.candidates.map((c: { label: string }) => c.label).sort()).toEqual(['m7a.24xlarge', 'm7i.metal-24xl', 'r5.metal']);
    for (const c of json.candidates) {
      expect(c.usdPerHour).toBeGreaterThan(0);
      const s = c.largestSafeBurst;
      // A number, or "none" only when a single container already misses the objective.
      if (s.value === null) expect(s.failsAt).toBe(1);
      else expect(c.containersPerDollarHour).toBeCloseTo(s.value / c.usdPerHour, 2);
    }
    expect(r.stderr).toMatch(/^\[1\/\d+\] /m);
  });

  it('Ctrl-C: exit 130, no JSON file', async () => {
    const out = join(dir, 'int.json');
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((done, fail) => {
      const child = spawn(process.execPath, [bin, 'plan', 'plan.yaml', '--json', out, '--workers', '1'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      let sent = false;
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        err += chunk;
        if (!sent && /^\[2\//m.test(err)) {
          sent = true;
          child.kill('SIGINT');
        }
      });
      child.on('error', fail);
      child.on('close', (c) => done({ code: c, stderr: err }));
    });
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('locksim: interrupted');
    expect(existsSync(out)).toBe(false);
  });
});
