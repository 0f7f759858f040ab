import { describe, it, expect } from 'vitest';
import { summaryTable, representativeIndices, formatSummaryNumber } from '../src/report/summary.ts';
import type { PointResult } from '../src/report/results.ts';

function points(variants: string[], xs: number[]): PointResult[] {
  return variants.flatMap((variant, i) =>
    xs.map((x) => ({ variant, x, metrics: { p50: x * 10 + i, failures: i }, seed: 's', key: `${variant}|${x}` })),
  );
}

describe('summaryTable', () => {
  it('lists every variant and every x when they fit, with aligned columns', () => {
    const variants = ['r5.metal, 2 sockets', 'm7a.metal-48xl'];
    const table = summaryTable({ xLabel: 'threads', points: points(variants, [1, 2, 4, 8]) }, ['p50', 'failures']);
    const lines = table.trimEnd().split('\n');
    expect(lines).toHaveLength(2 + 2 * 4);
    for (const v of variants) expect(lines.filter((l) => l.startsWith(v))).toHaveLength(4);
    expect(lines[0]).toMatch(/^variant\s+threads\s+p50\s+failed$/);
    // Numbers are right-aligned under their header: each column ends at the same offset on every row.
    const p50End = lines[0].indexOf('p50') + 'p50'.length;
    for (const line of lines.slice(2)) expect(line[p50End - 1]).toMatch(/\d/);
    expect(lines.find((l) => l.startsWith('m7a.metal-48xl') && /\s8\s/.test(l))).toMatch(/\s81\s+1$/);
  });

  it('stays within the line budget with many x values, keeping both ends of each curve', () => {
    const variants = ['a', 'b', 'c', 'd', 'e'];
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    const table = summaryTable({ xLabel: 'containers', points: points(variants, xs) }, ['p50']);
    const lines = table.trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(25);
    for (const v of variants) {
      const rows = lines.filter((l) => l.startsWith(`${v} `));
      expect(rows.length).toBeGreaterThanOrEqual(2);
      expect(rows[0]).toMatch(new RegExp(`^${v}\\s+1\\s`));
      expect(rows[rows.length - 1]).toMatch(new RegExp(`^${v}\\s+100\\s`));
    }
    expect(lines[lines.length - 1]).toMatch(/of 500 points shown/);
  });

  it('shows a dash for a metric a point lacks', () => {
    const table = summaryTable({ xLabel: 'x', points: [{ variant: 'v', x: 1, metrics: {}, seed: 's', key: 'k' }] }, ['p99']);
    expect(table.split('\n')[2]).toMatch(/^v\s+1\s+-$/);
  });
});

describe('representativeIndices', () => {
  it('spreads picks evenly including both ends', () => {
    expect(representativeIndices(11, 3)).toEqual([0, 5, 10]);
    expect(representativeIndices(3, 5)).toEqual([0, 1, 2]);
  });
});

describe('formatSummaryNumber', () => {
  it('uses four significant digits and no locale separators', () => {
    expect(formatSummaryNumber(1234.5678)).toBe('1235');
    expect(formatSummaryNumber(12.5)).toBe('12.5');
    expect(formatSummaryNumber(1234567.8)).toBe('1234568');
    expect(formatSummaryNumber(0.000012345)).toBe('1.234e-5');
  });
});
