// `locksim run --ablate` and `locksim attribute` as a user meets them: the
// ablation reaches the results and the run's identity (shards of two sets do
// not merge), attribution output is the same for any worker count, and bad
// names, gaps or metrics are one line with exit code 2 and nothing written.
// Scenarios are tiny (a few containers of a few layers) to keep this fast.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLocksim, type Outcome } from './helpers/cli.ts';

let dir: string;


const locksim = (args: string[]): Promise<Outcome> => runLocksim(dir, args);

const pingpong = `name: pp
kind: pingpong
variants:
  - label: r5
    machine: { model: r5.metal }
pingpong:
  to: [1, 24]
  roundTrips: 100
`;

const gap = `name: gap
kind: launch
variants:
  - label: r5
    machine: { model: r5.metal }
  - label: m7a
    machine: { model: m7a.24xlarge }
launch:
  containers: [3, 6]
  variant: per-layer-idmap
  layers: 3
  host: { containerStartNs: 1000000 }
attribution: { gap: [r5, m7a] }
`;

function expectOneLineExit2(r: Outcome, contains: string): void {
  const shown = `stderr: ${JSON.stringify(r.stderr)}`;
  expect(r.code, shown).toBe(2);
  const lines = r.stderr.split('\n').filter((l) => l.length > 0 && !l.startsWith('['));
  expect(lines, shown).toHaveLength(1);
  expect(lines[0]).toContain(contains);
  expect(lines[0]).not.toMatch(/\.ts:\d+/);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'locksim-attr-'));
  writeFileSync(join(dir, 'pp.yaml'), pingpong);
  writeFileSync(join(dir, 'gap.yaml'), gap);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('locksim run --ablate', () => {
  it('switches the mechanism off and records the set in results.json', async () => {
    const r = await locksim(['run', 'pp.yaml', '--ablate', 'numa-hop', '--out', 'pp-numa', '--no-charts', '-w', '1']);
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(readFileSync(join(dir, 'pp-numa', 'results.json'), 'utf8'));
    expect(run.scenario.resolved.ablate).toEqual(['numa-hop']);
    const [same, cross] = run.points.map((p: { metrics: { oneWayMedianNs: number } }) => p.metrics.oneWayMedianNs);
    expect(cross).toBeCloseTo(same, 6);
  });

  it('lists the ablations with descriptions in --help', async () => {
    const r = await locksim(['run', '--help']);
    expect(r.code).toBe(0);
    for (const name of ['smt', 'numa-hop', 'tor-queue', 'per-cpu-costs', 'background-walks']) expect(r.stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
  });

  it('refuses an unknown name: one line, exit 2, nothing written', async () => {
    const r = await locksim(['run', 'pp.yaml', '--ablate', 'smt,warp-drive', '--out', 'never']);
    expectOneLineExit2(r, '--ablate');
    expect(r.stderr).toContain('warp-drive');
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('refuses an unknown name in the file at its line and column', async () => {
    writeFileSync(join(dir, 'bad-ablate.yaml'), pingpong + 'ablate: [smt, warp-drive]\n');
    const r = await locksim(['run', 'bad-ablate.yaml', '--out', 'never']);
    expectOneLineExit2(r, 'bad-ablate.yaml:9:15: ablate[1]: expected one of smt, numa-hop');
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('makes the set part of the run: shards of two sets do not merge', async () => {
    const a = await locksim(['run', 'pp.yaml', '--shard', '1/2', '--out', 'sh1', '-w', '1']);
    const b = await locksim(['run', 'pp.yaml', '--shard', '2/2', '--ablate', 'smt', '--out', 'sh2', '-w', '1']);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const m = await locksim(['merge', 'sh1', 'sh2', '--out', 'merged']);
    expectOneLineExit2(m, 'scenarioHash');
    expect(existsSync(join(dir, 'merged'))).toBe(false);
  });
});

describe('locksim attribute', () => {
  const mechanisms = ['--mechanisms', 'numa-hop,tor-queue,background-walks'];

  it('writes the shares, the same for 1 and 2 workers, and the report shows them', async () => {
    const one = await locksim(['attribute', 'gap.yaml', ...mechanisms, '--out', 'at1', '-w', '1', '--no-charts']);
    const two = await locksim(['attribute', 'gap.yaml', ...mechanisms, '--out', 'at2', '-w', '2']);
    expect(one.code, one.stderr).toBe(0);
    expect(two.code, two.stderr).toBe(0);
    expect(one.stdout).toMatch(/^containers +launchP99S A\/B +numa-hop +tor-queue +background-walks +remainder$/m);
    for (const f of ['attribution.json', 'attribution.csv', 'results.json']) {
      expect(readFileSync(join(dir, 'at2', f), 'utf8'), f).toBe(readFileSync(join(dir, 'at1', f), 'utf8'));
    }
    expect(existsSync(join(dir, 'at2', 'gap-attribution.svg'))).toBe(true);
    const at = JSON.parse(readFileSync(join(dir, 'at1', 'attribution.json'), 'utf8'));
    expect(at.gap).toEqual({ a: 'r5', b: 'm7a' });
    expect(at.rows.map((r: { x: number }) => r.x)).toEqual([3, 6]);
    for (const row of at.rows) {
      // share = (gap_full - gap_ablated) / gap_full, remainder = 1 - sum of shares.
      const shares = Object.values(row.ablated as Record<string, { gap: number; share: number }>);
      for (const s of shares) expect(s.share).toBeCloseTo((row.full.gap - s.gap) / row.full.gap, 9);
      expect(row.remainder).toBeCloseTo(1 - shares.reduce((t, s) => t + s.share, 0), 9);
    }
    const rep = await locksim(['report', 'at2']);
    expect(rep.code, rep.stderr).toBe(0);
    const html = readFileSync(join(dir, 'at2', 'report.html'), 'utf8');
    expect(html).toContain('<section id="attribution">');
    expect(html).toContain('id="attribution-table"');
  });

  it('takes the gap from the command line and prints JSON with --json', async () => {
    const r = await locksim(['attribute', 'gap.yaml', '--gap', 'm7a/r5', '--mechanisms', 'smt', '--metric', 'launchP50S', '--json', '--out', 'at3', '--no-charts', '-w', '1']);
    expect(r.code, r.stderr).toBe(0);
    const at = JSON.parse(r.stdout);
    expect(at.gap).toEqual({ a: 'm7a', b: 'r5' });
    expect(at.metric).toBe('launchP50S');
    expect(at.mechanisms.map((m: { name: string }) => m.name)).toEqual(['smt']);
  });

  const bad: { what: string; args: string[]; files?: Record<string, string>; contains: string }[] = [
    { what: 'an unknown mechanism', args: ['gap.yaml', '--mechanisms', 'tor-queue,warp-drive'], contains: '--mechanisms' },
    { what: 'a gap that names no variant', args: ['gap.yaml', '--gap', 'r5/c5'], contains: '--gap' },
    { what: 'an unknown metric (refused before the ablated runs)', args: ['gap.yaml', '--metric', 'launchP42S', '--mechanisms', 'smt'], contains: 'attribution.metric' },
    { what: 'a gap label in the file that is no variant', args: ['badgap.yaml'], files: { 'badgap.yaml': gap.replace('gap: [r5, m7a]', 'gap: [r5, m7i]') }, contains: 'badgap.yaml:13:26: attribution.gap[1]: expected a variant label' },
    { what: 'no gap at all', args: ['nogap.yaml'], files: { 'nogap.yaml': gap.replace('attribution: { gap: [r5, m7a] }\n', '') }, contains: '--gap' },
  ];
  bad.forEach((c, i) => {
    it(`refuses ${c.what}: one line, exit 2, nothing written`, async () => {
      for (const [name, text] of Object.entries(c.files ?? {})) writeFileSync(join(dir, name), text);
      const r = await locksim(['attribute', ...c.args, '--out', `bad-${i}`, '--no-charts', '-w', '1']);
      expectOneLineExit2(r, c.contains);
      expect(existsSync(join(dir, `bad-${i}`))).toBe(false);
    });
  });
});
