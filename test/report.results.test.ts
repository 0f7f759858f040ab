import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { toCsv, toJson, csvField, formatNumber, type PointResult, type RunResult } from '../src/report/results.ts';

/** Minimal RFC 4180 reader, independent of the writer, to check that what toCsv writes reads back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; }
    else field += c;
  }
  expect(field).toBe(''); // the writer ends every record with CRLF
  return rows;
}

function point(variant: string, x: number, metrics: Record<string, number>): PointResult {
  return { variant, x, metrics, seed: `seed-${variant}-${x}`, key: `${variant}|${x}` };
}

function run(points: PointResult[]): RunResult {
  return {
    scenario: { name: 'demo', kind: 'lock-microbench', seed: 1, resolved: { b: 1, a: { z: 2, y: [3, 1] } } },
    models: { 'r5.metal': { name: 'r5.metal' } },
    xLabel: 'threads',
    points,
    createdBy: 'locksim test',
  };
}

describe('toCsv', () => {
  it('has the header variant,x,<metrics sorted>,seed and leaves a missing metric empty', () => {
    const csv = toCsv(run([point('a', 1, { p99: 3, mean: 2 }), point('a', 2, { zeta: 1, mean: 4 })]));
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe('variant,x,mean,p99,zeta,seed');
    expect(lines[1]).toBe('a,1,2,3,,seed-a-1');
    expect(lines[2]).toBe('a,2,4,,1,seed-a-2');
    expect(lines[3]).toBe(''); // file ends with a line break
  });

  it('quotes fields with commas, quotes and line breaks as RFC 4180 says, and leaves others bare', () => {
    expect(csvField('r5.metal')).toBe('r5.metal');
    expect(csvField('r5.metal, 2 sockets')).toBe('"r5.metal, 2 sockets"');
    expect(csvField('the "big" one')).toBe('"the ""big"" one"');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    const csv = toCsv(run([point('m7i, "HT off"', 8, { mean: 1.5 })]));
    expect(csv.split('\r\n')[1]).toBe('"m7i, ""HT off""",8,1.5,"seed-m7i, ""HT off""-8"');
  });

  it('prints numbers without locale, losslessly, and names non-finite values', () => {
    expect(formatNumber(1234567.5)).toBe('1234567.5'); // no thousands separator
    expect(formatNumber(0.1 + 0.2)).toBe('0.30000000000000004'); // shortest string that round-trips
    expect(formatNumber(1e21)).toBe('1e+21');
    expect(formatNumber(-0)).toBe('0');
    expect(formatNumber(NaN)).toBe('NaN');
    expect(formatNumber(-Infinity)).toBe('-Infinity');
  });

  it('reads back to the same strings and numbers for arbitrary labels and doubles', () => {
    fc.assert(
      fc.property(fc.string(), fc.double(), fc.double({ noNaN: true }), (variant, x, value) => {
        const csv = toCsv(run([point(variant, x, { m: value })]));
        const [header, row] = parseCsv(csv);
        expect(header).toEqual(['variant', 'x', 'm', 'seed']);
        expect(row[0]).toBe(variant);
        // -0 is written as 0 on purpose; every other double reads back exactly.
        if (Number.isNaN(x)) expect(row[1]).toBe('NaN');
        else expect(Number(row[1])).toBe(x === 0 ? 0 : x);
        expect(Number(row[2])).toBe(value === 0 ? 0 : value);
      }),
    );
  });

  it('gives byte-identical output for equal runs whatever the metric insertion order', () => {
    const a = toCsv(run([point('v', 1, { b: 2, a: 1 }), point('w', 1, { a: 3, b: 4 })]));
    const b = toCsv(run([point('v', 1, { a: 1, b: 2 }), point('w', 1, { b: 4, a: 3 })]));
    expect(a).toBe(b);
  });

  it('refuses a metric whose name would duplicate a fixed column', () => {
    expect(() => toCsv(run([point('v', 1, { x: 1 })]))).toThrow(/collides/);
  });
});

describe('toJson', () => {
  it('sorts object keys at every level and keeps array order', () => {
    const text = toJson(run([point('v', 2, { p99: 9, mean: 5 })]));
    const parsed = JSON.parse(text);
    expect(Object.keys(parsed)).toEqual(['createdBy', 'models', 'points', 'scenario', 'xLabel']);
    expect(Object.keys(parsed.scenario)).toEqual(['kind', 'name', 'resolved', 'seed']);
    expect(Object.keys(parsed.scenario.resolved.a)).toEqual(['y', 'z']);
    expect(parsed.scenario.resolved.a.y).toEqual([3, 1]);
    expect(Object.keys(parsed.points[0])).toEqual(['key', 'metrics', 'seed', 'variant', 'x']);
    expect(Object.keys(parsed.points[0].metrics)).toEqual(['mean', 'p99']);
  });

  it('is byte-identical for equal runs built in a different key order, with 2-space indent', () => {
    const first = run([point('v', 1, { a: 1, b: 2 })]);
    const second: RunResult = {
      createdBy: first.createdBy,
      points: [{ key: 'v|1', seed: 'seed-v-1', metrics: { b: 2, a: 1 }, x: 1, variant: 'v' }],
      xLabel: 'threads',
      models: first.models,
      scenario: { resolved: { a: { y: [3, 1], z: 2 }, b: 1 }, seed: 1, kind: 'lock-microbench', name: 'demo' },
    };
    expect(toJson(first)).toBe(toJson(second));
    expect(toJson(first)).toMatch(/^\{\n  "createdBy": /);
    expect(toJson(first).endsWith('}\n')).toBe(true);
  });

  it('writes a metric undefined for the point (NaN) as null, and keeps infinities distinguishable', () => {
    const parsed = JSON.parse(toJson(run([point('v', 1, { a: NaN, b: Infinity, c: -Infinity })])));
    expect(parsed.points[0].metrics).toEqual({ a: null, b: 'Infinity', c: '-Infinity' });
  });

  it('writes an undefined metric (NaN) as an empty CSV field, never "NaN"', () => {
    const [, row] = parseCsv(toCsv(run([point('v', 1, { a: NaN, b: 2 })])));
    expect(row.slice(2, 4)).toEqual(['', '2']);
  });
});
