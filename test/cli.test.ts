// The command line as a user meets it: bad input of any kind ends as exit code
// 2 and exactly one line on stderr that names the file, line:column and field
// (where a file is involved), with no stack trace, and nothing is written to
// the output directory. Help of every subcommand exits 0.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLocksim, type Outcome } from './helpers/cli.ts';

let dir: string;


/** Runs bin/locksim.js in the temporary directory, so file names print as typed. */
const locksim = (args: string[]): Promise<Outcome> => runLocksim(dir, args, 60_000);

const good = `name: good
kind: lock-microbench
variants:
  - label: a
    machine: { model: generic-2core }
microbench:
  threads: [1, 2]
  durationNs: 10000
`;

const brokenModel = `name: broken-model
description: a model whose topology has no sockets field
cpu: { vendor: intel, model: X, microarchitecture: y, ghz: { value: 3, source: "s" } }
topology:
  coresPerSocket: 2
  threadsPerCore: 1
  l3GroupsPerSocket: 1
  numaDistance: [[10]]
  cpuNumbering: linux
fabric: { kind: chiplet }
coreToCore:
  sameL3: { value: 27.1, source: "s" }
pause: { cycles: { value: 64, source: "s" } }
`;

interface BadCase {
  what: string;
  /** Files to create (name -> contents) before running. */
  files?: Record<string, string>;
  args: string[];
  /** file:line:col the message must start with (files involved), or null for flag errors. */
  at: string | null;
  /** Text the message must contain: the field, or the flag / command. */
  names: string;
}

const cases: BadCase[] = [
  { what: 'malformed YAML', files: { 'malformed.yaml': 'name: [unclosed\nkind: pingpong\n' }, args: ['run', 'malformed.yaml'], at: 'malformed.yaml:2:1', names: '(syntax)' },
  { what: 'unknown kind', files: { 'kind.yaml': good.replace('kind: lock-microbench', 'kind: lock-macrobench') }, args: ['run', 'kind.yaml'], at: 'kind.yaml:2:7', names: 'kind' },
  { what: 'unknown hardware model', files: { 'model.yaml': good.replace('generic-2core', 'z9.metal') }, args: ['run', 'model.yaml'], at: 'model.yaml:5:23', names: 'variants[0].machine.model' },
  { what: 'negative duration', files: { 'neg.yaml': good.replace('durationNs: 10000', 'durationNs: -5') }, args: ['run', 'neg.yaml'], at: 'neg.yaml:8:15', names: 'microbench.durationNs' },
  { what: 'unknown field', files: { 'unk.yaml': good + '  colour: red\n' }, args: ['run', 'unk.yaml'], at: 'unk.yaml:9:3', names: 'microbench.colour' },
  {
    what: 'duplicate variant label',
    files: { 'dup.yaml': good.replace('    machine: { model: generic-2core }\n', '    machine: { model: generic-2core }\n  - label: a\n    machine: { model: r5.metal }\n') },
    args: ['run', 'dup.yaml'],
    at: 'dup.yaml:6:12',
    names: 'variants[1].label',
  },
  { what: 'more sockets than the model has', files: { 'sockets.yaml': good.replace('{ model: generic-2core }', '{ model: r5.metal, sockets: 3 }') }, args: ['run', 'sockets.yaml'], at: 'sockets.yaml:5:42', names: 'variants[0].machine.sockets' },
  { what: 'smt on a model without SMT', files: { 'smt.yaml': good.replace('{ model: generic-2core }', '{ model: m7a.24xlarge, smt: true }') }, args: ['run', 'smt.yaml'], at: 'smt.yaml:5:', names: 'variants[0].machine.smt' },
  { what: 'missing scenario file', args: ['run', 'missing.yaml'], at: 'missing.yaml:1:1', names: '(file)' },
  { what: 'empty scenario file', files: { 'empty.yaml': '' }, args: ['run', 'empty.yaml'], at: 'empty.yaml:1:1', names: '(document)' },
  { what: 'bad model file referenced by path', files: { 'badmodel.yaml': brokenModel, 'usesbad.yaml': good.replace('generic-2core', './badmodel.yaml') }, args: ['run', 'usesbad.yaml'], at: 'badmodel.yaml:5:3', names: 'topology.sockets' },
  { what: 'model path that does not exist', files: { 'nopath.yaml': good.replace('generic-2core', './nowhere.yaml') }, args: ['run', 'nopath.yaml'], at: 'nopath.yaml:5:23', names: 'variants[0].machine.model' },
  { what: 'sweep over the x axis', files: { 'sweep.yaml': good + 'sweep:\n  microbench.threads: [1, 2]\n' }, args: ['run', 'sweep.yaml'], at: 'sweep.yaml:10:', names: 'sweep' },
  { what: '--workers 0', files: { 'good.yaml': good }, args: ['run', 'good.yaml', '--workers', '0'], at: null, names: '--workers' },
  { what: '--workers abc', files: { 'good.yaml': good }, args: ['run', 'good.yaml', '--workers', 'abc'], at: null, names: '--workers' },
  { what: '--workers 1e1 (digits only, as every whole-number flag)', files: { 'good.yaml': good }, args: ['run', 'good.yaml', '--workers', '1e1'], at: null, names: '--workers' },
  { what: '--seed -1', files: { 'good.yaml': good }, args: ['run', 'good.yaml', '--seed', '-1'], at: null, names: '--seed' },
  { what: 'unknown option', files: { 'good.yaml': good }, args: ['run', 'good.yaml', '--frobnicate'], at: null, names: '--frobnicate' },
  { what: 'unknown command', args: ['frobnicate'], at: null, names: 'frobnicate' },
  { what: 'run without a scenario', args: ['run'], at: null, names: 'scenario' },
  // Several scenarios: every file is checked before any is simulated, so the good first one writes nothing either.
  { what: 'several scenarios, the second bad', files: { 'good.yaml': good, 'neg3.yaml': good.replace('name: good', 'name: neg3').replace('durationNs: 10000', 'durationNs: -5') }, args: ['run', 'good.yaml', 'neg3.yaml'], at: 'neg3.yaml:8:15', names: 'microbench.durationNs' },
  { what: 'several scenarios of one name', files: { 'good.yaml': good, 'twin.yaml': good }, args: ['run', 'good.yaml', 'twin.yaml'], at: 'twin.yaml:1:7', names: 'name' },
  { what: 'several scenarios with --shard', files: { 'good.yaml': good, 'other.yaml': good.replace('name: good', 'name: other') }, args: ['run', 'good.yaml', 'other.yaml', '--shard', '1/2'], at: 'command line:1:1', names: '--shard' },
];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'locksim-cli-'));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.concurrent('locksim: bad input exits 2 with one located line and writes nothing', () => {
  cases.forEach((c, i) => {
    it(c.what, async () => {
      for (const [name, text] of Object.entries(c.files ?? {})) writeFileSync(join(dir, name), text);
      const out = `out-${i}`;
      // Commands other than run take no --out; pass it only where it is an option.
      const args = c.args[0] === 'run' ? [...c.args, '--out', out] : c.args;
      const r = await locksim(args);
      const shown = `stderr: ${JSON.stringify(r.stderr)}`;
      expect(r.code, shown).toBe(2);
      const lines = r.stderr.split('\n').filter((l) => l.length > 0);
      expect(lines, shown).toHaveLength(1);
      const line = lines[0];
      expect(line, 'no stack trace').not.toMatch(/^\s*at /m);
      expect(line).not.toMatch(/\.ts:\d+/);
      if (c.at !== null) {
        expect(line.startsWith(c.at), `expected to start with ${c.at}: ${line}`).toBe(true);
        expect(line, 'FILE:LINE:COL: FIELD: expected ...').toMatch(/^[^:]+:\d+:\d+: \S+: expected /);
      }
      expect(line).toContain(c.names);
      expect(existsSync(join(dir, out)), `--out ${out} must not be created`).toBe(false);
    });
  });
});

describe('locksim: several scenarios into an --out that is a file', () => {
  it('exits 2 with one line naming --out, and writes nothing', async () => {
    writeFileSync(join(dir, 'good.yaml'), good);
    writeFileSync(join(dir, 'other.yaml'), good.replace('name: good', 'name: other'));
    writeFileSync(join(dir, 'a-file'), 'x');
    const r = await locksim(['run', 'good.yaml', 'other.yaml', '--out', 'a-file']);
    expect(r.code, r.stderr).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => l.length > 0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^command line:1:1: --out: expected a directory/);
    expect(readFileSync(join(dir, 'a-file'), 'utf8')).toBe('x');
  });
});

describe('locksim: bad input leaves an existing --out directory untouched', () => {
  it('an existing empty --out directory stays empty', async () => {
    writeFileSync(join(dir, 'neg2.yaml'), good.replace('durationNs: 10000', 'durationNs: -1'));
    mkdirSync(join(dir, 'existing'));
    const r = await locksim(['run', 'neg2.yaml', '--out', 'existing']);
    expect(r.code).toBe(2);
    expect(readdirSync(join(dir, 'existing'))).toEqual([]);
  });
});

describe.concurrent('locksim: help', () => {
  for (const args of [['--help'], ['run', '--help'], ['models', '--help'], ['schema', '--help'], ['help', 'run']]) {
    it(`locksim ${args.join(' ')} exits 0 and prints usage`, async () => {
      const r = await locksim(args);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/Usage: locksim/);
    });
  }

  it('run --help documents --out, --workers, --seed and --no-charts', async () => {
    const r = await locksim(['run', '--help']);
    for (const flag of ['--out', '--workers', '--seed', '--no-charts']) expect(r.stdout).toContain(flag);
  });
});

describe('locksim: good input', () => {
  it('run writes results and exits 0', async () => {
    writeFileSync(join(dir, 'good.yaml'), good);
    const r = await locksim(['run', 'good.yaml', '--out', 'good-out', '--no-charts', '--workers', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(join(dir, 'good-out')).sort()).toEqual(['manifest.json', 'results.csv', 'results.json']);
  });

  it('run of several scenarios writes each to --out/<name>, the same bytes as a run of it alone, with one pool of workers', async () => {
    const second = good.replace('name: good', 'name: second').replace('threads: [1, 2]', 'threads: [1, 2, 4]');
    writeFileSync(join(dir, 'good.yaml'), good);
    writeFileSync(join(dir, 'second.yaml'), second);
    const both = await locksim(['run', 'good.yaml', 'second.yaml', '--out', 'both-out', '--no-charts', '--workers', '2']);
    expect(both.code, both.stderr).toBe(0);
    expect(readdirSync(join(dir, 'both-out')).sort()).toEqual(['good', 'second']);
    expect(both.stdout).toMatch(/2 scenarios in [\d.]+ s/);
    for (const name of ['good', 'second']) {
      const alone = await locksim(['run', `${name}.yaml`, '--out', `alone-${name}`, '--no-charts', '--workers', '1']);
      expect(alone.code, alone.stderr).toBe(0);
      for (const f of ['results.csv', 'results.json', 'manifest.json']) {
        expect(readFileSync(join(dir, 'both-out', name, f), 'utf8'), `${name}/${f}`).toBe(readFileSync(join(dir, `alone-${name}`, f), 'utf8'));
      }
    }
    const json = await locksim(['run', 'good.yaml', 'second.yaml', '--out', 'both-json', '--no-charts', '--workers', '1', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const doc = JSON.parse(json.stdout) as { scenarios: { scenario: string; outDir: string }[] };
    expect(doc.scenarios.map((x) => [x.scenario, x.outDir])).toEqual([['good', join('both-json', 'good')], ['second', join('both-json', 'second')]]);
  });
});
