// Ctrl-C during a sweep: the process exits 130 without result files, the
// finished points stay in the checkpoint, and a rerun simulates only the rest
// and writes files byte-identical to an uninterrupted run. Runs go through
// bin/locksim.js with a real SIGINT, as a user's would.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CHECKPOINT_NAME } from '../src/runner/checkpoint.ts';

const bin = resolve('bin/locksim.js');
const TOTAL = 40;
let dir: string;
let scenarioFile: string;

// Many small points (2 variants x 20 thread counts) so a signal lands mid-sweep.
const scenario = `
name: many
kind: lock-microbench
seed: 5
variants:
  - label: m7i small
    machine: { model: m7i.metal-24xl, cores: 4 }
  - label: m7a
    machine: { model: m7a.24xlarge, cores: 8 }
microbench:
  lock: ttas
  threads: [${Array.from({ length: TOTAL / 2 }, (_, i) => i + 1).join(', ')}]
  criticalSectionNs: 100
  thinkNs: 300
  distribution: exponential
  durationNs: 3000000
  placement: scatter
`;

function run(out: string, ...flags: string[]) {
  return spawnSync(process.execPath, [bin, 'run', scenarioFile, '--out', out, ...flags], { encoding: 'utf8', timeout: 120_000 });
}

/** Starts a run and sends SIGINT once `afterPoints` progress lines have appeared. */
function runAndInterrupt(out: string, afterPoints: number, ...flags: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, 'run', scenarioFile, '--out', out, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let sent = false;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      const finished = stderr.match(/^\[\d+\/\d+\]/gm)?.length ?? 0;
      if (!sent && finished >= afterPoints) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stderr }));
  });
}

const files = (out: string) => readdirSync(out).filter((f) => f !== CHECKPOINT_NAME).sort();

function expectSameFiles(actual: string, expected: string) {
  expect(files(actual)).toEqual(files(expected));
  for (const f of files(expected)) expect(readFileSync(join(actual, f)).equals(readFileSync(join(expected, f))), `${f} differs`).toBe(true);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'locksim-int-'));
  scenarioFile = join(dir, 'many.yaml');
  writeFileSync(scenarioFile, scenario);
  const r = run(join(dir, 'whole'), '--workers', '2');
  expect(r.status, r.stderr).toBe(0);
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.each([['1'], ['2']])('Ctrl-C with %s worker(s)', (workers) => {
  it('exits 130 keeping finished points; the rerun resumes and matches an uninterrupted run byte for byte', async () => {
    const out = join(dir, `int-w${workers}`);
    const stopped = await runAndInterrupt(out, 5, '--workers', workers);
    expect(stopped.code, stopped.stderr).toBe(130);
    const kept = /interrupted; (\d+) of 40 points kept in (\S+), rerun/.exec(stopped.stderr);
    expect(kept, stopped.stderr).not.toBeNull();
    const keptPoints = Number(kept![1]);
    expect(keptPoints).toBeGreaterThanOrEqual(5);
    expect(keptPoints).toBeLessThan(TOTAL);
    // No partial result files, only the checkpoint: header plus one line per kept point.
    expect(readdirSync(out)).toEqual([CHECKPOINT_NAME]);
    const lines = readFileSync(join(out, CHECKPOINT_NAME), 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(1 + keptPoints);
    expect(JSON.parse(lines[0]!).format).toBe('locksim-checkpoint');

    const resumed = run(out, '--workers', workers);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resuming: ${keptPoints} of 40 points from the checkpoint`);
    // Only the missing points were simulated: their progress lines start after the kept ones.
    const progressLines = resumed.stderr.match(/^\[(\d+)\/40\]/gm) ?? [];
    expect(progressLines).toHaveLength(TOTAL - keptPoints);
    expect(progressLines[0]).toBe(`[${keptPoints + 1}/40]`);
    expect(existsSync(join(out, CHECKPOINT_NAME))).toBe(false);
    expectSameFiles(out, join(dir, 'whole'));
  }, 180_000);
});

describe('Ctrl-C in a run of several scenarios', () => {
  it('keeps the finished scenarios whole and the interrupted one\'s points; the rerun completes it, byte for byte', async () => {
    // A second scenario, the same points under another name, and its uninterrupted run for reference.
    const second = join(dir, 'many2.yaml');
    writeFileSync(second, scenario.replace('name: many', 'name: many2'));
    const ref = spawnSync(process.execPath, [bin, 'run', second, '--out', join(dir, 'whole2'), '--workers', '2'], { encoding: 'utf8', timeout: 120_000 });
    expect(ref.status, ref.stderr).toBe(0);
    const out = join(dir, 'both');
    const both = [bin, 'run', scenarioFile, second, '--out', out, '--workers', '2'];
    // Interrupted 5 points into the second scenario (progress lines count across both).
    const stopped = await new Promise<{ code: number | null; stderr: string }>((done, fail) => {
      const child = spawn(process.execPath, both, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        stderr += chunk;
        if ((stderr.match(/^\[\d+\/\d+\]/gm)?.length ?? 0) >= TOTAL + 5 && !child.killed) child.kill('SIGINT');
      });
      child.on('error', fail);
      child.on('close', (code) => done({ code, stderr }));
    });
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(readdirSync(out).sort()).toEqual(['many', 'many2']);
    expectSameFiles(join(out, 'many'), join(dir, 'whole'));
    expect(readdirSync(join(out, 'many2'))).toEqual([CHECKPOINT_NAME]);
    const resumed = spawnSync(process.execPath, both, { encoding: 'utf8', timeout: 120_000 });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming: \d+ of 40 points from the checkpoint/);
    expectSameFiles(join(out, 'many'), join(dir, 'whole'));
    expectSameFiles(join(out, 'many2'), join(dir, 'whole2'));
  }, 240_000);
});

describe('checkpoint of another run', () => {
  it('refuses a checkpoint of another seed with one line naming --fresh; --fresh discards it', async () => {
    const out = join(dir, 'other-seed');
    const stopped = await runAndInterrupt(out, 3, '--workers', '1');
    expect(stopped.code).toBe(130);
    const refused = run(out, '--workers', '1', '--seed', '6');
    expect(refused.status).toBe(2);
    const line = refused.stderr.trim();
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toContain(`${CHECKPOINT_NAME}:1:1: scenarioHash: expected`);
    expect(line).toContain('--fresh');
    expect(existsSync(join(out, 'results.csv'))).toBe(false);

    const fresh = run(out, '--workers', '2', '--seed', '6', '--fresh');
    expect(fresh.status, fresh.stderr).toBe(0);
    expect(fresh.stderr).not.toContain('resuming');
    expect(existsSync(join(out, CHECKPOINT_NAME))).toBe(false);
    const reference = run(join(dir, 'seed6'), '--workers', '2', '--seed', '6');
    expect(reference.status).toBe(0);
    expectSameFiles(out, join(dir, 'seed6'));
  }, 180_000);

  it('drops a line torn by a crash mid-write and resumes from the complete ones', async () => {
    const out = join(dir, 'torn');
    const stopped = await runAndInterrupt(out, 4, '--workers', '1');
    expect(stopped.code).toBe(130);
    const path = join(out, CHECKPOINT_NAME);
    const complete = readFileSync(path, 'utf8').trimEnd().split('\n').length - 1;
    appendFileSync(path, '{"index":39,"key":"m7a|thr');
    const resumed = run(out, '--workers', '2');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resuming: ${complete} of 40 points`);
    expectSameFiles(out, join(dir, 'whole'));
  }, 180_000);

  it('reports a damaged line at its line number', async () => {
    const out = join(dir, 'damaged');
    const stopped = await runAndInterrupt(out, 3, '--workers', '1');
    expect(stopped.code).toBe(130);
    const path = join(out, CHECKPOINT_NAME);
    const lines = readFileSync(path, 'utf8').split('\n');
    lines[2] = lines[2]!.replace('"metrics":{', '"metrics":{"bad":true,');
    writeFileSync(path, lines.join('\n'));
    const r = run(out, '--workers', '1');
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(new RegExp(`${CHECKPOINT_NAME.replace('.', '\\.')}:3:1: metrics\\.bad: `));
  }, 180_000);
});
