// Every bad input must come back as one InputError line naming the file, the
// line:column of the offending node and the field. The expected positions
// below were worked out by counting columns in the fixture files (comments give
// the reasoning where it is not obvious), not copied from the loader's output.
import { describe, it, expect } from 'vitest';
import { z } from 'zod';
import { loadScenario } from '../src/config/scenarioSchema.ts';
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { InputError, formatForCli } from '../src/config/errors.ts';
import { parseYamlText, loadYamlFile } from '../src/config/yamlLoad.ts';

const dir = 'test/fixtures/bad';

function errorOf(load: () => unknown): InputError {
  try {
    load();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error('expected an InputError, but loading succeeded');
}

// [fixture, line, column, field, start of the expectation]
const scenarioCases: [string, number, number, string, string][] = [
  // the open `[` of line 3 is still open when `microbench:` starts at column 1 of line 5
  ['syntax-error', 5, 1, '(syntax)', 'valid YAML'],
  ['wrong-type', 3, 7, 'seed', 'a number, got "one"'],
  ['unknown-kind', 2, 7, 'kind', 'one of lock-microbench, pingpong, launch, got "lock-bench"'],
  // a missing key points at its parent mapping, whose first key `lock` is at 7:3
  ['missing-field', 7, 3, 'microbench.threads', 'a list, got nothing'],
  ['negative-duration', 8, 15, 'microbench.durationNs', 'a positive number, got -5'],
  ['unknown-model', 8, 14, 'variants[1].machine.model', 'one of c5.metal, generic-2core,'],
  // the third variant repeats the first one's label
  ['duplicate-label', 8, 12, 'variants[2].label', 'a label not used before (variants[0] has it)'],
  // `numa` is the key at column 33 of `    machine: { model: r5.metal, numa: 1 }`
  ['unknown-restriction', 5, 33, 'variants[0].machine.numa', 'one of the fields model, sockets, smt, cores'],
  ['too-many-sockets', 5, 42, 'variants[0].machine.sockets', 'an integer from 1 to 2 (r5.metal has 2 sockets), got 3'],
  ['too-many-cores', 8, 14, 'variants[0].machine.cores', 'an integer from 1 to 24'],
  ['smt-on-no-smt-machine', 5, 42, 'variants[0].machine.smt', 'false or no smt field'],
  // the second `seed:` is at the start of line 7
  ['duplicate-key', 7, 1, 'seed', 'each key at most once'],
  ['empty', 1, 1, '(document)', 'a mapping, got an empty file'],
  // `"long"` is the second item of `  microbench.criticalSectionNs: [50, "long"]`, column 38
  ['bad-sweep-value', 9, 38, 'sweep.microbench.criticalSectionNs[1]', 'a number, got "long"'],
  ['sweep-unknown-path', 9, 32, 'sweep.microbench.criticalSection[0]', 'a path to an existing field'],
  ['tag', 3, 7, 'seed', 'plain YAML data without tags'],
  // generic-2core has cpus 0 and 1 only
  ['pingpong-cpu-out-of-range', 8, 11, 'pingpong.to[1]', 'a logical cpu below 2'],
  ['duplicate-threads', 7, 19, 'microbench.threads[2]', 'each x value once'],
  // the misspelt key is the cause of the "missing" microbench section, so it is the one reported
  ['misspelt-section', 6, 1, 'microbenchmark', 'one of the fields name, description, seed, variants, sweep, output, ablate, simulation, attribution, kind, microbench'],
];

describe('bad scenario files', () => {
  for (const [name, line, column, field, expected] of scenarioCases) {
    it(`${name}: reported at ${line}:${column} ${field}`, () => {
      const file = `${dir}/${name}.yaml`;
      const err = errorOf(() => loadScenario(file));
      expect(err.message.startsWith(`${file}:${line}:${column}: ${field}: expected ${expected}`), err.message).toBe(true);
      expect(err.message).not.toContain('\n');
      expect([err.file, err.line, err.column, err.field]).toEqual([file, line, column, field]);
    });
  }

  it('a missing scenario file is reported at 1:1', () => {
    const err = errorOf(() => loadScenario(`${dir}/does-not-exist.yaml`));
    expect(err.message).toBe(`${dir}/does-not-exist.yaml:1:1: (file): expected a readable YAML file, got no such file`);
  });

  it('a directory given as scenario is reported, not thrown as a system error', () => {
    const err = errorOf(() => loadScenario(dir));
    expect(err.message).toBe(`${dir}:1:1: (file): expected a readable YAML file, got a directory`);
  });
});

const modelCases: [string, number, number, string, string][] = [
  // one row for a 2-socket machine; the list starts at column 17 of line 18
  ['hw-numa-shape', 18, 17, 'topology.numaDistance', 'a 2 x 2 table (one row per socket), got 1 row'],
  // `{ value: 46.6 }` lacks its source: reported at the mapping, column 11
  ['hw-source-missing', 27, 11, 'coreToCore.sameL3.source', 'a string, got nothing'],
  ['hw-source-empty', 27, 34, 'coreToCore.sameL3.source', 'a non-empty'],
  // kind mesh without a mesh section: reported at the fabric mapping (first key at 21:3)
  ['hw-mesh-missing', 21, 3, 'fabric.mesh', 'a mesh section'],
  ['hw-bad-fabric-kind', 21, 9, 'fabric.kind', 'one of mesh, chiplet, got "ring"'],
  // 100 cores cannot be split into 12 CCXs
  ['hw-cores-not-divisible', 14, 19, 'topology.coresPerSocket', 'a multiple of l3GroupsPerSocket (12), got 100'],
  ['hw-crossl3-missing', 22, 3, 'coreToCore.crossL3', 'a sourced number'],
];

describe('bad hardware model files', () => {
  for (const [name, line, column, field, expected] of modelCases) {
    it(`${name}: reported at ${line}:${column} ${field}`, () => {
      const file = `${dir}/${name}.yaml`;
      const err = errorOf(() => loadHardwareModel(file));
      expect(err.message.startsWith(`${file}:${line}:${column}: ${field}: expected ${expected}`), err.message).toBe(true);
    });
  }

  it('an unknown model name lists the available names', () => {
    const err = errorOf(() => loadHardwareModel('r9.metal'));
    expect(err.field).toBe('model');
    for (const known of ['r5.metal', 'm7i.metal-24xl', 'm7a.48xlarge', 'generic-2core']) expect(err.expected).toContain(known);
    expect(err.got).toBe('"r9.metal"');
  });
});

describe('InputError and the YAML loader', () => {
  it('formats FILE:LINE:COL: FIELD: expected EXPECTED[, got GOT]', () => {
    const withGot = new InputError({ file: 'a.yaml', line: 3, column: 5, field: 'x.y', expected: 'a number', got: '"z"' });
    expect(formatForCli(withGot)).toBe('a.yaml:3:5: x.y: expected a number, got "z"');
    const withoutGot = new InputError({ file: 'a.yaml', line: 1, column: 1, field: 'x', expected: 'a list' });
    expect(formatForCli(withoutGot)).toBe('a.yaml:1:1: x: expected a list');
  });

  it('maps a nested list path to its node', () => {
    const schema = z.strictObject({ items: z.array(z.strictObject({ n: z.number().int() })) });
    const text = 'items:\n  - n: 1\n  - n: 2.5\n';
    const err = errorOf(() => parseYamlText(text, 'mem.yaml', schema));
    expect(err.message).toBe('mem.yaml:3:8: items[1].n: expected an integer, got 2.5');
  });

  it('returns the validated value for good input', () => {
    const schema = z.strictObject({ a: z.number(), b: z.string().default('d') });
    expect(parseYamlText('a: 2\n', 'm.yaml', schema)).toEqual({ a: 2, b: 'd' });
  });

  it('does not construct objects from tags or merge keys', () => {
    const schema = z.record(z.string(), z.unknown());
    expect(() => parseYamlText('x: !!js/undefined ~\n', 'm.yaml', schema)).toThrow(InputError);
    // YAML 1.2 core schema: `<<` is an ordinary key, not a merge instruction.
    expect(parseYamlText('a: &x {k: 1}\nb: {<<: *x}\n', 'm.yaml', schema)).toEqual({ a: { k: 1 }, b: { '<<': { k: 1 } } });
  });

  it('loadYamlFile reports a missing file at 1:1', () => {
    expect(() => loadYamlFile('nope/missing.yaml', z.unknown())).toThrow('nope/missing.yaml:1:1: (file): expected a readable YAML file, got no such file');
  });
});
