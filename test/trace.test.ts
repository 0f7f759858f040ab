import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/config/errors.ts';
import { OP_NAMES, opAt, parseTrace, TraceOpsBuilder, writeTrace, type TraceHeader } from '../src/workload/trace.ts';

const fixtures = join(import.meta.dirname, 'fixtures', 'traces');
const read = (name: string): string => readFileSync(join(fixtures, name), 'utf8');

/** Parses a fixture expecting an InputError and returns it. */
function parseError(name: string): InputError {
  try {
    parseTrace(read(name), name);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error(`${name} parsed without error`);
}

/** 1-based column of `"key"` on line `lineNo` of a fixture: where the error should point. */
function columnOf(name: string, lineNo: number, key: string): number {
  const line = read(name).split('\n')[lineNo - 1]!;
  const at = line.indexOf(`"${key}"`);
  expect(at).toBeGreaterThanOrEqual(0);
  return at + 1;
}

describe('parseTrace on a valid measured trace', () => {
  it('reads the header, skips blank lines and keeps every op field', () => {
    const t = parseTrace(read('good.jsonl'), 'good.jsonl');
    expect(t.header.containers.map((c) => c.id)).toEqual(['c0001', 'c0002']);
    expect(t.header.containers[1]!.start_ns).toBe(1500);
    expect(t.ops.count).toBe(4);
    expect(opAt(t.ops, 0)).toEqual({ container: 0, op: 'open_tree', pass: 1, layer: 0, path: '/var/lib/containerd/snapshots/1/fs', startNs: 10, durNs: 4200, tid: 311 });
    expect(opAt(t.ops, 1)).toEqual({ container: 1, op: 'open_tree', pass: 1, layer: 0, startNs: 1500.5, durNs: 3900, tid: 312 });
    // The overlay op names no layer and carries no times: those stay absent, not 0.
    expect(opAt(t.ops, 3)).toEqual({ container: 0, op: 'mount_overlay', pass: 1 });
  });

  it('round-trips through writeTrace with a stable key order', () => {
    const t = parseTrace(read('good.jsonl'), 'good.jsonl');
    const text = writeTrace(t.header, t.ops);
    const again = parseTrace(text, 'again.jsonl');
    expect(writeTrace(again.header, again.ops)).toBe(text);
    const firstOp = text.split('\n')[1]!;
    expect(Object.keys(JSON.parse(firstOp))).toEqual(['container', 'op', 'pass', 'layer', 'path', 'start_ns', 'dur_ns', 'tid']);
    expect(Object.keys(JSON.parse(text.split('\n')[0]!)).slice(0, 2)).toEqual(['format', 'version']);
  });

  it('accepts CRLF line ends', () => {
    const t = parseTrace(read('good.jsonl').replace(/\n/g, '\r\n'), 'crlf.jsonl');
    expect(t.ops.count).toBe(4);
  });

  it('accepts a header with no ops', () => {
    const t = parseTrace('{"format":"locksim-trace","version":1,"containers":[]}\n', 'empty.jsonl');
    expect(t.ops.count).toBe(0);
  });
});

describe('parseTrace on malformed traces names the line, column and field', () => {
  it('bad JSON: points at the token after the missing comma', () => {
    const e = parseError('bad-json.jsonl');
    expect(e.line).toBe(3);
    expect(e.field).toBe('(line)');
    expect(e.column).toBe(columnOf('bad-json.jsonl', 3, 'pass'));
    expect(e.message).toMatch(/^bad-json\.jsonl:3:\d+: \(line\): expected valid JSON/);
  });

  it('truncated last line (no closing brace, no newline) is reported as truncated', () => {
    const e = parseError('truncated.jsonl');
    expect(e.line).toBe(4); // the blank line 3 still counts
    expect(e.message).toContain('truncated');
    expect(e.message).toContain('"}"');
  });

  it('unknown op lists the known ones', () => {
    const e = parseError('unknown-op.jsonl');
    expect([e.line, e.field, e.column]).toEqual([3, 'op', columnOf('unknown-op.jsonl', 3, 'op')]);
    expect(e.got).toBe('"pivot_root"');
    for (const op of OP_NAMES) expect(e.expected).toContain(op);
  });

  it('negative dur_ns', () => {
    const e = parseError('negative-dur.jsonl');
    expect([e.line, e.field, e.column]).toEqual([2, 'dur_ns', columnOf('negative-dur.jsonl', 2, 'dur_ns')]);
    expect(e.expected).toBe('a number >= 0');
    expect(e.got).toBe('-40');
  });

  it('missing container', () => {
    const e = parseError('missing-container.jsonl');
    expect([e.line, e.field, e.column]).toEqual([4, 'container', 1]);
    expect(e.got).toContain('missing');
  });

  it('wrong version in the header (after a leading blank line)', () => {
    const e = parseError('wrong-version.jsonl');
    expect([e.line, e.field, e.column]).toEqual([2, 'version', columnOf('wrong-version.jsonl', 2, 'version')]);
    expect(e.got).toBe('2');
  });

  it('unknown field is an error in version 1', () => {
    const e = parseError('unknown-field.jsonl');
    expect([e.line, e.field, e.column]).toEqual([2, 'dur-ns', columnOf('unknown-field.jsonl', 2, 'dur-ns')]);
    expect(e.expected).toContain('version 1');
  });

  it('missing header', () => {
    const e = parseError('no-header.jsonl');
    expect([e.line, e.field]).toEqual([1, 'format']);
    expect(e.got).toContain('header is missing');
  });

  it('an op of a container the header does not list', () => {
    const e = parseError('unknown-container.jsonl');
    expect([e.line, e.field, e.got]).toEqual([2, 'container', '"c0009"']);
  });

  it('a layer index beyond the container\'s layers', () => {
    const e = parseError('layer-out-of-range.jsonl');
    expect([e.line, e.field, e.got]).toEqual([2, 'layer', '2']);
  });

  it('pass 0', () => {
    const e = parseError('pass-zero.jsonl');
    expect([e.line, e.field]).toEqual([2, 'pass']);
  });

  it('an empty file', () => {
    expect(() => parseTrace('\n\n', 'e.jsonl')).toThrow(/^e\.jsonl:1:1: \(header\): expected a header line/);
  });

  it('duplicate container ids in the header', () => {
    const text = '{"format":"locksim-trace","version":1,"containers":[{"id":"a","layers":1,"start_ns":0},{"id":"a","layers":1,"start_ns":0}]}\n';
    expect(() => parseTrace(text, 'd.jsonl')).toThrow(/containers\[1\]\.id: expected container ids that are unique/);
  });

  it('an error in a container entry names its index', () => {
    const text = '{"format":"locksim-trace","version":1,"containers":[{"id":"a","layers":0,"start_ns":0}]}\n';
    expect(() => parseTrace(text, 'd.jsonl')).toThrow(/^d\.jsonl:1:\d+: containers\[0\]\.layers: expected a positive number/);
  });
});

describe('TraceOpsBuilder', () => {
  it('grows past its initial capacity without losing ops', () => {
    const b = new TraceOpsBuilder(16);
    for (let i = 0; i < 1000; i++) b.push({ container: i % 3, op: 'umount', pass: 2, layer: i });
    const ops = b.finish();
    expect(ops.count).toBe(1000);
    expect(opAt(ops, 999)).toEqual({ container: 0, op: 'umount', pass: 2, layer: 999 });
    const header: TraceHeader = { format: 'locksim-trace', version: 1, containers: [0, 1, 2].map((i) => ({ id: `c${i}`, layers: 1000, start_ns: 0 })) };
    expect(parseTrace(writeTrace(header, ops), 'x').ops.count).toBe(1000);
  });
});
