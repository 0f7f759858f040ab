/**
 * Replaying a recorded trace from a scenario (launch.trace), and sweeping a
 * parameter from the command line (--sweep): results, and bad input stopping
 * the run before anything is simulated or written.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runScenarioFile } from '../src/runner/runScenario.ts';
import { parseTrace } from '../src/workload/trace.ts';

const root = resolve(__dirname, '..');
const cli = join(root, 'bin/locksim.js');
const tmp = () => mkdtempSync(join(tmpdir(), 'locksim-replay-'));

describe('replaying a recorded mount storm', () => {
  it('runs the first N containers of the recording: every op of theirs, at their recorded start times', async () => {
    const trace = parseTrace(readFileSync(join(root, 'scenarios/traces/mountstorm-K8-L10.trace.jsonl'), 'utf8'), 'x');
    const { run } = await runScenarioFile(join(root, 'scenarios/replay-mountstorm.yaml'), { outDir: tmp(), workers: 1, charts: false });
    const opsOf = (k: number) => Array.from(trace.ops.container).filter((c) => c < k).length;
    for (const p of run.points) expect(p.metrics.syscalls, p.key).toBe(opsOf(p.x));
    // More containers replayed at once on 2 cpus take longer than one alone.
    const two = run.points.filter((p) => p.variant.startsWith('generic-2core'));
    expect(two.find((p) => p.x === 8)!.metrics.launchMeanS).toBeGreaterThan(two.find((p) => p.x === 1)!.metrics.launchMeanS);
  });

  it('a malformed trace line stops the run with its line number, exit 2, and nothing written', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'bad.jsonl'), '{"format":"locksim-trace","version":1,"containers":[{"id":"c1","layers":1,"start_ns":0}]}\n{"container":"c1","op":"open_tree","pass":1}\n{"container":"c1","op":"umount","pass":1,"dur_ns":-3}\n');
    writeFileSync(join(dir, 's.yaml'), 'name: s\nkind: launch\nvariants:\n  - { label: a, machine: { model: generic-2core } }\nlaunch:\n  containers: [1]\n  trace: bad.jsonl\n');
    const out = join(dir, 'out');
    const r = spawnSync(process.execPath, [cli, 'run', join(dir, 's.yaml'), '--out', out], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/bad\.jsonl:3:\d+: dur_ns: expected/);
    expect(existsSync(out)).toBe(false);
  });

  it('asking for more containers than the trace has is an error at that x value', () => {
    const dir = tmp();
    writeFileSync(join(dir, 's.yaml'), `name: s\nkind: launch\nvariants:\n  - { label: a, machine: { model: generic-2core } }\nlaunch:\n  containers: [4, 9]\n  trace: ${join(root, 'scenarios/traces/mountstorm-K8-L10.trace.jsonl')}\n`);
    const r = spawnSync(process.execPath, [cli, 'run', join(dir, 's.yaml'), '--out', join(dir, 'o')], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/s\.yaml:6:\d+: launch\.containers\[1\]: expected at most the trace's 8 containers, got 9/);
  });
});

describe('--sweep on the command line', () => {
  it('multiplies the variants like the file\'s sweep: does', () => {
    const out = tmp();
    execFileSync(process.execPath, [cli, 'run', join(root, 'scenarios/replay-mountstorm.yaml'), '--out', out, '--no-charts', '--sweep', 'launch.host.containerStartNs=0,1000000'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const labels = new Set(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).points.map((p: { variant: string }) => p.variant));
    expect([...labels].sort()).toEqual([
      'generic-2core (this host), containerStartNs=0',
      'generic-2core (this host), containerStartNs=1000000',
      'r5.metal, containerStartNs=0',
      'r5.metal, containerStartNs=1000000',
    ]);
  });

  it('a bad --sweep is one line naming the flag, exit 2', () => {
    const r = spawnSync(process.execPath, [cli, 'run', join(root, 'scenarios/fig10-pause-bench.yaml'), '--out', join(tmp(), 'o'), '--sweep', 'microbench.criticalSectionNs=-5'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('command line:1:1: --sweep microbench.criticalSectionNs: expected a number >= 0, got -5');
  });
});
