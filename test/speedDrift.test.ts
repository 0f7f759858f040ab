// The machine's speed drift over a recorded set: a trend fitted within each
// configuration, never across them, from the runs' start times.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatSpeedDrift, speedDrift, timedRuns, type TimedRun } from '../src/host/speedDrift.ts';

const MIN = 60_000;
// A fixed zig-zag in place of noise: the tests stay exact and repeatable.
const wiggle = (i: number) => 1 + (i % 2 ? 0.03 : -0.03);

describe('speed drift over a set', () => {
  it('recovers a machine slowing down 10% per minute from configurations of very different lengths, in any order', () => {
    const runs: TimedRun[] = [];
    ['a', 'b', 'c'].forEach((key, k) => {
      for (let r = 0; r < 5; r++) {
        const t = r + k / 3; // passes interleave the configurations, as recorded sets do
        runs.push({ key, atMs: 1e12 + t * MIN, value: 10 ** (k + 3) * Math.exp(0.1 * t) * wiggle(r + k) });
      }
    });
    const d = speedDrift(runs)!;
    expect(d.logPerMinute).toBeCloseTo(0.1, 1);
    expect(d.spanMinutes).toBeCloseTo(4 + 2 / 3, 6);
    expect(d.changePct).toBeCloseTo((Math.exp(d.logPerMinute * d.spanMinutes) - 1) * 100, 6);
    expect(d.changeLowPct).toBeLessThan(d.changePct);
    expect(d.changeHighPct).toBeGreaterThan(d.changePct);
    expect(d.runs).toBe(15);
    expect(d.configurations).toBe(3);
    expect(speedDrift([...runs].reverse())!.logPerMinute).toBeCloseTo(d.logPerMinute, 12);
  });

  it('a slow configuration recorded late is not a slowing machine: runs are compared within their configuration only', () => {
    // Each configuration flat in time; the slow one recorded after the fast one.
    const runs: TimedRun[] = [];
    for (let r = 0; r < 5; r++) runs.push({ key: 'fast', atMs: r * 0.2 * MIN, value: 1e6 * wiggle(r) });
    for (let r = 0; r < 5; r++) runs.push({ key: 'slow', atMs: (3 + r * 0.2) * MIN, value: 1e8 * wiggle(r + 1) });
    const d = speedDrift(runs)!;
    expect(Math.abs(d.changePct)).toBeLessThan(15);
    // Pooled across configurations it would read as ~100x slower at the end.
    expect(d.spanMinutes).toBeCloseTo(3.8, 6);
  });

  it('says nothing without enough timed runs within configurations', () => {
    expect(speedDrift([])).toBeNull();
    expect(speedDrift([{ key: 'a', atMs: 0, value: 1 }, { key: 'b', atMs: MIN, value: 2 }, { key: 'c', atMs: 2 * MIN, value: 3 }])).toBeNull();
    expect(speedDrift([1, 2, 3].map((v) => ({ key: 'a', atMs: 5 * MIN, value: v })))).toBeNull();
  });

  it('reads each file\'s runs with its start time (lockbench as time per acquisition) and says it in one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'locksim-drift-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const src = JSON.parse(readFileSync(new URL('../measurements/this-host-w33/heldout/per-layer-idmap-K2-L25.r1.json', import.meta.url), 'utf8'));
    const files = [0, 1, 2, 3].map((i) => {
      const m = structuredClone(src);
      m.startedAt = new Date(Date.parse('2026-12-01T00:00:00Z') + i * MIN).toISOString();
      m.results.runs[0].meanNs = 1e7 * 1.2 ** i;
      const f = join(dir, `s${i}.json`);
      writeFileSync(f, JSON.stringify(m));
      return f;
    });
    const lb = JSON.parse(readFileSync(new URL('../measurements/this-host-w33/heldout/ttas-t2-cs400-run1.json', import.meta.url), 'utf8'));
    const lbFile = join(dir, 'lb.json');
    writeFileSync(lbFile, JSON.stringify(lb));
    const t = timedRuns([...files, lbFile]);
    expect(t.mountstorm.map((r) => r.value)).toEqual([1e7, 1.2e7, 1.44e7, 1.728e7].map((v) => expect.closeTo(v, 0)));
    expect(t.lockbench).toEqual([{ key: expect.any(String), atMs: Date.parse(lb.startedAt), value: 1 / lb.results.acquisitionsPerSec }]);
    const d = speedDrift(t.mountstorm)!;
    expect(d.changePct).toBeCloseTo((1.2 ** 3 - 1) * 100, 6);
    expect(formatSpeedDrift('held-out', d)).toMatch(/^held-out: the machine ran 73% slower at the end than at the start \(\+73% to \+73%, 1 standard error\), from 4 runs of 1 configuration over 3\.0 minutes/);
    expect(formatSpeedDrift('held-out', null)).toBe('');
  });
});
