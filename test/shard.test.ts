// Shards: `run --shard i/n` simulates every n-th point; `merge` of all shards
// writes the same bytes as one run (results, profiles, charts), and refuses
// shards of another scenario, missing shards and points given twice.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseShardSpec, shardIndices } from '../src/runner/shard.ts';

const bin = resolve('bin/locksim.js');
let dir: string;

// A launch scenario: points carry artifacts (folded profiles) as well as metrics.
const scenario = (seed: number) => `
name: storm
kind: launch
seed: ${seed}
variants:
  - label: r5.metal
    machine: { model: r5.metal }
  - label: m7a
    machine: { model: m7a.24xlarge }
launch:
  containers: [4, 8, 12]
  variant: per-layer-idmap
  layers: 5
`;

function locksim(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
}

const files = (d: string) => readdirSync(d).sort();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'locksim-shard-'));
  writeFileSync(join(dir, 'storm.yaml'), scenario(3));
  const whole = locksim('run', join(dir, 'storm.yaml'), '--out', join(dir, 'whole'));
  expect(whole.status, whole.stderr).toBe(0);
  for (const i of [1, 2, 3]) {
    const r = locksim('run', join(dir, 'storm.yaml'), '--shard', `${i}/3`, '--out', join(dir, `s${i}`), '--workers', '1');
    expect(r.status, r.stderr).toBe(0);
  }
}, 240_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('shard selection', () => {
  it('takes the points whose index mod n is i-1; n shards cover every index once', () => {
    expect(shardIndices(10, { index: 1, count: 3 })).toEqual([0, 3, 6, 9]);
    expect(shardIndices(10, { index: 3, count: 3 })).toEqual([2, 5, 8]);
    const all = [1, 2, 3, 4].flatMap((index) => shardIndices(11, { index, count: 4 })).sort((a, b) => a - b);
    expect(all).toEqual([...Array(11).keys()]);
    expect(parseShardSpec('2/4')).toEqual({ index: 2, count: 4 });
    for (const bad of ['0/4', '5/4', '1/0', '1', 'a/b', '1/2/3']) expect(parseShardSpec(bad), bad).toBeUndefined();
  });

  it('rejects a bad --shard value with one line and exit 2', () => {
    const r = locksim('run', join(dir, 'storm.yaml'), '--shard', '4/3', '--out', join(dir, 'bad'));
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--shard');
    expect(existsSync(join(dir, 'bad'))).toBe(false);
  });
});

describe('shard runs', () => {
  it('write only their shard file, with their points', () => {
    for (const i of [1, 2, 3]) expect(files(join(dir, `s${i}`))).toEqual([`shard-${i}-of-3.json`]);
    const shard = JSON.parse(readFileSync(join(dir, 's2', 'shard-2-of-3.json'), 'utf8'));
    expect(shard.shard).toEqual({ index: 2, count: 3 });
    expect(shard.scenarioHash).toMatch(/^[0-9a-f]{64}$/);
    // Points 1 and 4 of r5.metal 4,8,12 then m7a 4,8,12.
    expect(shard.points.map((p: { key: string }) => p.key)).toEqual(['r5.metal|containers=8', 'm7a|containers=8']);
    expect(shard.points[0].artifacts[0].name).toMatch(/\.folded$/);
  });
});

describe('merge', () => {
  it('writes the same files as a single run, byte for byte', () => {
    const out = join(dir, 'merged');
    const r = locksim('merge', join(dir, 's3'), join(dir, 's1'), join(dir, 's2', 'shard-2-of-3.json'), '--out', out);
    expect(r.status, r.stderr).toBe(0);
    expect(files(out)).toEqual(files(join(dir, 'whole')));
    expect(files(out)).toContain('results.csv');
    expect(files(out).some((f) => f.endsWith('.png'))).toBe(true);
    for (const f of files(out)) expect(readFileSync(join(out, f)).equals(readFileSync(join(dir, 'whole', f))), `${f} differs`).toBe(true);
  });

  it('refuses a missing shard, naming a missing point and its shard', () => {
    const out = join(dir, 'm-missing');
    const r = locksim('merge', join(dir, 's1'), join(dir, 's3'), '--out', out);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/^\S+shard-1-of-3\.json:1:1: shards: expected shards covering all 6 points; 2 missing, e.g. point 1 "r5\.metal\|containers=8" of shard 2\/3, got shards 1\/3, 3\/3$/);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a point given twice', () => {
    const r = locksim('merge', join(dir, 's1'), join(dir, 's2'), join(dir, 's3'), join(dir, 's1', 'shard-1-of-3.json'), '--out', join(dir, 'm-dup'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/points: expected every point in exactly one shard, got point 0 "r5\.metal\|containers=4" also in /);
  });

  it('refuses shards of another scenario (here another seed)', () => {
    const other = locksim('run', join(dir, 'storm.yaml'), '--seed', '4', '--shard', '2/3', '--out', join(dir, 'other'), '--workers', '1');
    expect(other.status, other.stderr).toBe(0);
    const r = locksim('merge', join(dir, 's1'), join(dir, 'other'), join(dir, 's3'), '--out', join(dir, 'm-other'));
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/other\/shard-2-of-3\.json:1:1: scenarioHash: expected [0-9a-f]{64} as in \S+s1\/shard-1-of-3\.json .*got [0-9a-f]{64}$/);
  });

  it('refuses an edited shard file whose identity no longer matches its hash', () => {
    const path = join(dir, 's2', 'shard-2-of-3.json');
    const edited = join(dir, 'edited');
    const text = readFileSync(path, 'utf8').replace('"layers": 5', '"layers": 6');
    expect(text).not.toBe(readFileSync(path, 'utf8'));
    spawnSync('mkdir', ['-p', edited]);
    writeFileSync(join(edited, 'shard-2-of-3.json'), text);
    const r = locksim('merge', join(dir, 's1'), edited, join(dir, 's3'), '--out', join(dir, 'm-edited'));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('identity: expected a run identity whose hash is');
  });

  it('locates a schema error in a shard file', () => {
    const bad = join(dir, 'badshard');
    spawnSync('mkdir', ['-p', bad]);
    const text = readFileSync(join(dir, 's1', 'shard-1-of-3.json'), 'utf8').replace('"totalPoints": 6', '"totalPoints": "six"');
    writeFileSync(join(bad, 'shard-1-of-3.json'), text);
    const line = text.split('\n').findIndex((l) => l.includes('"six"')) + 1;
    const r = locksim('merge', bad, '--out', join(dir, 'm-bad'));
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(new RegExp(`shard-1-of-3\\.json:${line}:\\d+: totalPoints: expected `));
  });
});
