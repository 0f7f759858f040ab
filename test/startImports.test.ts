// What a command's start loads. mathjs alone put over a second on every
// locksim command of the 2-vCPU test host (1.3-1.6 s for `--help` against
// 0.3-0.4 s without it, 2026-12-01) when two fitting modules imported it at
// the top; the heavy packages are loaded where they are used (src/mathjs.ts,
// fit.ts's Levenberg-Marquardt, the charts' vega). The fixture preloaded with
// `node --import` prints "LOADED <package>" for every watched package that
// is imported or required, in the main thread and in worker threads.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const trace = resolve('test/fixtures/startImports/trace.mjs');

function traced(args: string[]): { status: number | null; stdout: string; loaded: string[] } {
  const r = spawnSync(process.execPath, ['--import', trace, ...args], { encoding: 'utf8', timeout: 120_000 });
  const loaded = [...new Set(r.stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7)))].sort();
  return { status: r.status, stdout: r.stdout, loaded };
}

describe('packages loaded at a command start', () => {
  it('the fixture sees a watched package imported or required (the check can fail)', () => {
    expect(traced(['--input-type=module', '-e', "await import('mathjs')"]).loaded).toEqual(['mathjs']);
    expect(traced(['-e', "require('ml-levenberg-marquardt')"]).loaded).toEqual(['ml-levenberg-marquardt']);
  });

  it('`locksim --help` loads no fitting, statistics or chart package', () => {
    const r = traced(['bin/locksim.js', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage');
    expect(r.loaded).toEqual([]);
  });

  it('a run on worker threads without charts loads none of them either', () => {
    const dir = mkdtempSync(join(tmpdir(), 'locksim-start-'));
    try {
      const file = join(dir, 'tiny.yaml');
      writeFileSync(file, 'name: tiny\nkind: lock-microbench\nseed: 1\nvariants:\n  - label: m7a\n    machine: { model: m7a.24xlarge }\nmicrobench:\n  lock: ticket\n  threads: [1, 4]\n  criticalSectionNs: 100\n  thinkNs: 300\n  durationNs: 50000\n');
      const r = traced(['bin/locksim.js', 'run', file, '--out', join(dir, 'out'), '--workers', '2', '--no-charts']);
      expect(r.status).toBe(0);
      expect(r.loaded).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
