// The headline findings are computed from the results: change the numbers and
// the sentences change; a metric a run lacks drops its sentence, never the run.
import { describe, it, expect } from 'vitest';
import { headlineFindings, METRICS } from '../src/report/findings.ts';
import { formatMetric, formatPercent, formatSeconds, metricLabel } from '../src/report/units.ts';
import type { PointResult, RunResult } from '../src/report/results.ts';

type Run = Pick<RunResult, 'points' | 'xLabel' | 'scenario'>;

function launchRun(curves: Record<string, [x: number, p50: number, p99: number, success: number][]>, extra: Record<string, number> = {}): Run {
  const points: PointResult[] = [];
  for (const [variant, rows] of Object.entries(curves)) {
    for (const [x, p50, p99, success] of rows) {
      points.push({ variant, x, key: `${variant}|${x}`, seed: 's', metrics: { [METRICS.launchP50]: p50, [METRICS.launchP99]: p99, [METRICS.success]: success, ...extra } });
    }
  }
  return { xLabel: 'containers', points, scenario: { name: 't', kind: 'launch', seed: 1, resolved: { launch: { healthCheckTimeoutNs: 30e9 } } } };
}

describe('headline findings of a launch run', () => {
  const run = launchRun(
    {
      big: [[10, 0.04, 0.05, 1], [100, 0.5, 0.6, 0.9], [200, 1.4, 2.6, 0.5]],
      small: [[10, 0.04, 0.04, 1], [100, 0.3, 0.35, 1], [200, 0.5, 1.0, 1]],
    },
    { shareLockSleep: 0.62, shareSpin: 0.2, shareRunQueue: 0.18 },
  );
  const findings = headlineFindings(run);

  it('names the machine that starts failing, where, and the one that does not', () => {
    expect(findings[0]).toBe('big starts failing at 100 containers (90% launched within the 30 s health check); small launches every container up to 200.');
  });

  it('gives the p99 ratio between the best and the worst machine at the largest load', () => {
    expect(findings).toContain("At 200 containers, small's p99 launch time (1 s) is 2.6x lower than big's (2.6 s).");
  });

  it('compares the growth of launch time with the growth of the load', () => {
    expect(findings).toContain('On big, the median launch takes 35x longer at 200 containers than at 10 (40 ms to 1.4 s), faster than the 20x load.');
  });

  it("names the biggest share of containerd's time on the slowest machine", () => {
    expect(findings).toContain("On big at 200 containers, containerd spends 62% of its launch time asleep waiting for namespace_sem, and 20% spinning on mount_lock or namespace_sem.");
  });

  it('follows the numbers: when every launch succeeds it says so in one sentence', () => {
    const ok = headlineFindings(launchRun({ a: [[10, 0.1, 0.2, 1], [20, 0.2, 0.3, 1]], b: [[10, 0.1, 0.1, 1], [20, 0.1, 0.15, 1]] }));
    expect(ok[0]).toBe('Every launch finished within the 30 s health check on all 2 machines, up to 20 containers.');
    expect(ok[1]).toBe("At 20 containers, b's p99 launch time (150 ms) is 2.0x lower than a's (300 ms).");
  });

  it('compares the machines at the largest load where no launch was cut at the horizon (cut launches all read as the horizon)', () => {
    const cut = launchRun({ a: [[100, 40, 47, 0], [200, 120, 120, 0]], b: [[100, 50, 56, 0], [200, 120, 120, 0]] });
    for (const p of cut.points) p.metrics.unfinished = p.x === 200 ? 200 : 0;
    expect(headlineFindings(cut)).toContain("At 100 containers, a's p99 launch time (47 s) is 1.2x lower than b's (56 s).");
  });

  it('leaves out a sentence whose metrics the run lacks, and keeps the others', () => {
    const bare = launchRun({ a: [[10, 0.1, 0.2, 1]], b: [[10, 0.1, 0.4, 1]] });
    for (const p of bare.points) delete p.metrics[METRICS.success];
    const f = headlineFindings(bare);
    expect(f.some((s) => /failing|Every launch/.test(s))).toBe(false);
    expect(f[0]).toBe("At 10 containers, a's p99 launch time (200 ms) is 2.0x lower than b's (400 ms).");
    expect(headlineFindings({ ...bare, points: [] })).toEqual([]);
  });
});

describe('headline findings of a lock microbenchmark', () => {
  it('compares throughput at the most threads and finds where a curve collapses', () => {
    const pt = (variant: string, x: number, tput: number): PointResult => ({ variant, x, key: `${variant}|${x}`, seed: 's', metrics: { acquisitionsPerSec: tput } });
    const run: Run = {
      xLabel: 'threads',
      scenario: { name: 'm', kind: 'lock-microbench', seed: 1, resolved: {} },
      points: [pt('mesh', 1, 4e5), pt('mesh', 8, 2e6), pt('mesh', 96, 4e5), pt('chiplet', 1, 4e5), pt('chiplet', 8, 1.7e6), pt('chiplet', 96, 1.6e6)],
    };
    const f = headlineFindings(run);
    expect(f[0]).toBe('At 96 threads, chiplet completes 4.0x more lock acquisitions per second than mesh (1.6 vs 0.4 million per second).');
    expect(f[1]).toMatch(/^On mesh, throughput peaks at 8 threads and falls 5\.0x by 96/);
    expect(f).toHaveLength(2);
  });
});

describe('human units', () => {
  it('shows seconds in the unit that reads best, fractions as percent never rounded to 100', () => {
    expect(formatSeconds(0.0377)).toBe('37.7 ms');
    expect(formatSeconds(1.359)).toBe('1.36 s');
    expect(formatSeconds(2.5e-6)).toBe('2.5 µs');
    expect(formatPercent(1)).toBe('100%');
    expect(formatPercent(0.9996)).toBe('99.96%');
    expect(formatPercent(0.92)).toBe('92%');
    expect(formatMetric('launchP99S', 0.5204)).toBe('520 ms');
    expect(formatMetric('latencyMeanNs', 2460)).toBe('2.46 µs');
    expect(formatMetric('successRate', 0.5)).toBe('50%');
    expect(formatMetric('mountOps', 20200)).toBe('20200');
    expect(formatMetric('mountOps', undefined)).toBe('-');
    expect(metricLabel('launchP99S')).toBe('p99 launch');
    expect(metricLabel('pathInitSpinS')).toBe('path init spin');
  });
});

describe('machines failing at the same load', () => {
  it('share one clause', () => {
    const run = launchRun({ a: [[20, 1, 1, 1], [150, 60, 62, 0]], b: [[20, 1, 1, 1], [150, 50, 51, 0]], c: [[20, 1, 1, 1], [150, 40, 41, 0.5]] });
    expect(headlineFindings(run)[0]).toBe('a, b and c start failing at 150 containers (0%, 0% and 50% launched within the 30 s health check).');
    const zero = launchRun({ a: [[20, 1, 1, 1], [150, 60, 62, 0]], b: [[20, 1, 1, 1], [150, 50, 51, 0]] });
    expect(headlineFindings(zero)[0]).toBe('a and b start failing at 150 containers (none launched within the 30 s health check).');
  });
});
