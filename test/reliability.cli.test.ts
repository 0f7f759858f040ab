// Issue 11 through the real command line: each class of bad input the fuzzer
// and a new user found gets exit code 2 and one located line on stderr (no
// stack, at most 300 characters), and nothing is written; resource bombs are
// refused before simulating, naming the estimate and the flag that lifts it;
// --out into a folder of other files is refused unless --force; a metric
// undefined for a point is null in results.json and empty in results.csv.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runLocksim, type Outcome } from './helpers/cli.ts';

let dir: string;


const locksim = (args: string[]): Promise<Outcome> => runLocksim(dir, args);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'locksim-reliab-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The contract for bad input: exit 2, one line of at most 300 characters, located, no stack. */
function expectOneLine(r: Outcome, at: RegExp): string {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  expect(lines, r.stderr).toHaveLength(1);
  const line = lines[0]!;
  expect(line.length).toBeLessThanOrEqual(300);
  expect(line).not.toMatch(/^\s*at |\.ts:\d+|Error:/);
  expect(line).toMatch(at);
  return line;
}

const launch = (extra: string, name = 'l') => `name: ${name}
kind: launch
variants:
  - label: a
    machine: { model: generic-2core }
launch:
  containers: [2]
  variant: per-layer-idmap
  layers: 3
${extra}`;

const microbench = (extra: string, name = 'm') => `name: ${name}
kind: lock-microbench
variants:
  - label: a
    machine: { model: generic-2core }
microbench:
${extra}`;

interface BadRun { what: string; file: string; text: string; args?: string[]; at: RegExp }

const badRuns: BadRun[] = [
  {
    what: 'a YAML alias bomb',
    file: 'bomb.yaml',
    text: `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n${microbench('  threads: [1]')}`,
    at: /^bomb\.yaml:2:\d+: b.*: expected at most 100 values made by expanding YAML aliases/,
  },
  { what: 'an unresolved alias', file: 'alias.yaml', text: microbench('  threads: *nothing'), at: /^alias\.yaml:7:12: microbench\.threads: expected an alias to an anchor defined above it/ },
  { what: 'nesting 5,000 deep', file: 'deep.yaml', text: `x: ${'['.repeat(5000)}${']'.repeat(5000)}\n`, at: /^deep\.yaml:1:\d+: \(syntax\): expected lists and mappings nested at most 64 deep/ },
  { what: 'an unknown kernel model, 2 workers (was an uncaught exception in a worker)', file: 'kernel.yaml', text: launch('  kernel: linux-9.9\n'), args: ['--workers', '2'], at: /^kernel\.yaml:10:11: launch\.kernel: expected one of linux-6\.6/ },
  { what: 'ten million containers (was a ZodError inside the trace generator)', file: 'many.yaml', text: launch('').replace('[2]', '[10000000]'), at: /^many\.yaml:7:16: launch\.containers\[0\]: expected a number <= 100000/ },
  { what: 'a label too long for a file name (was ENAMETOOLONG after the run)', file: 'label.yaml', text: launch('').replace('label: a', `label: ${'x'.repeat(240)}`), at: /^label\.yaml:4:\d+: variants\[0\]\.label: expected a label at most 233 bytes/ },
  { what: 'a scenario name too long for its chart files', file: 'longname.yaml', text: microbench('  threads: [1]', 'n'.repeat(220)), at: /^longname\.yaml:1:7: name: expected a name of at most 213 characters \(it names chart files, at most 255 bytes each\), got 220 bytes$/ },
  { what: 'a 5,000-character name is echoed cut', file: 'name.yaml', text: microbench('  threads: [1]', `"${'n '.repeat(2500)}"`), at: /^name\.yaml:1:7: name: expected .*\.\.\./ },
  { what: 'roundTrips 1e12', file: 'rt.yaml', text: `name: rt\nkind: pingpong\nvariants:\n  - label: a\n    machine: { model: generic-2core }\npingpong:\n  to: [1]\n  roundTrips: 1000000000000\n`, at: /^rt\.yaml:8:15: pingpong\.roundTrips: expected a number <= 10000000/ },
  { what: 'durationNs 1e15', file: 'dur.yaml', text: microbench('  threads: [1]\n  durationNs: 1000000000000000'), at: /^dur\.yaml:8:15: microbench\.durationNs: expected a number <= 100000000000/ },
  {
    what: '1,000 containers x 10,000 layers (took 4.7 GB)',
    file: 'huge.yaml',
    text: launch('').replace('[2]', '[1000]').replace('layers: 3', 'layers: 10000'),
    at: /^huge\.yaml:7:16: launch\.containers\[0\]: expected at most 5\.0e8 simulated events per point \(--max-events N lifts it\), got about 8\.0e9 events and \d+\.\d GB/,
  },
  {
    what: 'a sweep of a million points',
    file: 'sweep.yaml',
    text: `${microbench(`  threads: [${Array.from({ length: 1000 }, (_, i) => i + 1).join(', ')}]\n  durationNs: 1000`)}\nsweep:\n  microbench.criticalSectionNs: [${Array.from({ length: 1000 }, (_, i) => i).join(', ')}]\n`,
    at: /^sweep\.yaml:10:3: sweep: expected at most 10000 points \(--max-points N lifts it\), got 1000000/,
  },
  {
    what: 'one process per container with a kernel model that has no fork cost (a calibration written before it)',
    file: 'fork.yaml',
    text: launch('  kernel: ./old-kernel.yaml\n  processPerContainer: true\n'),
    at: /^fork\.yaml:11:\d+: launch\.processPerContainer: expected the CPU cost of forking one container process/,
  },
  {
    what: 'a model with a billion cores per socket (aborted V8)',
    file: 'cores.yaml',
    text: microbench('  threads: [1]').replace('model: generic-2core', 'model: ./huge-model.yaml'),
    at: /^huge-model\.yaml:\d+:\d+: topology\.coresPerSocket: expected a number <= 512, got 1000000000/,
  },
];

describe('bad input through the CLI: one located line, exit 2, nothing written', () => {
  beforeAll(() => {
    const model = readFileSync(resolve('models/hardware/generic-2core.yaml'), 'utf8').replace(/coresPerSocket: \d+/, 'coresPerSocket: 1000000000');
    writeFileSync(join(dir, 'huge-model.yaml'), model);
    // The kernel model without host.processForkNs (its value and source lines).
    const kernel = readFileSync(resolve('models/kernel/linux-6.6.yaml'), 'utf8').replace(/\n  processForkNs:\n    value: \d+\n    source: "[^"]*"/, '');
    expect(kernel).not.toMatch(/processForkNs/);
    writeFileSync(join(dir, 'old-kernel.yaml'), kernel);
  });
  for (const c of badRuns) {
    it(c.what, async () => {
      writeFileSync(join(dir, c.file), c.text);
      const out = `out-${c.file}`;
      const r = await locksim(['run', c.file, '--out', out, '--no-charts', ...(c.args ?? [])]);
      expectOneLine(r, c.at);
      expect(existsSync(join(dir, out)), 'nothing written').toBe(false);
    });
  }

  it('--max-events lifts the guard it names', async () => {
    writeFileSync(join(dir, 'small.yaml'), microbench('  threads: [1]\n  durationNs: 100000', 'small'));
    expectOneLine(await locksim(['run', 'small.yaml', '--out', 'o-small', '--no-charts', '--max-events', '10']), /--max-events N lifts it/);
    expect(existsSync(join(dir, 'o-small'))).toBe(false);
    const r = await locksim(['run', 'small.yaml', '--out', 'o-small', '--no-charts', '--max-events', '100000000']);
    expect(r.code, r.stderr).toBe(0);
  });

  it('hwloc XML: a second DOCTYPE, 200 nested objects, an empty file', async () => {
    const xml = readFileSync(resolve('test/fixtures/hwloc/2pack-2l3-4core-2pu.xml'), 'utf8');
    writeFileSync(join(dir, 'doctype.xml'), xml.replace('<topology', '<!DOCTYPE topology SYSTEM "x.dtd">\n<topology'));
    writeFileSync(join(dir, 'nested.xml'), xml.replace('</topology>', `${'<object type="Group">'.repeat(200)}${'</object>'.repeat(200)}</topology>`));
    writeFileSync(join(dir, 'empty.xml'), '');
    const at: Record<string, RegExp> = {
      'doctype.xml': /^doctype\.xml:\d+:1: \(xml\): expected at most one well-formed <!DOCTYPE/,
      'nested.xml': /^nested\.xml:\d+:\d+: \(xml\): expected elements nested at most 100 deep/,
      'empty.xml': /^empty\.xml:1:1: \(xml\): expected an hwloc topology .*, got an empty file$/,
    };
    for (const [file, re] of Object.entries(at)) {
      expectOneLine(await locksim(['host', 'topology', '--from', 'hwloc', file, '--out', `m-${file}.yaml`]), re);
      expect(existsSync(join(dir, `m-${file}.yaml`))).toBe(false);
    }
  });

  it('import-strace refuses what the simulator would refuse (10,001 layers), at the strace line', async () => {
    const lines = Array.from({ length: 10001 }, (_, i) => `100 05:00:00.${String(i).padStart(6, '0')} open_tree(AT_FDCWD, "/l${i}", OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC) = ${i + 3} <0.000010>`);
    lines.push('100 05:00:01.000000 mount("overlay", "/m", "overlay", 0, "lowerdir=/a") = 0 <0.000010>');
    writeFileSync(join(dir, 'layers.strace'), lines.join('\n') + '\n');
    expectOneLine(await locksim(['import-strace', 'layers.strace', '--out', 'layers.jsonl']), /^layers\.strace:1:1: \(imported trace\) containers\[0\]\.layers: expected a number <= 10000, got 10001/);
    expect(existsSync(join(dir, 'layers.jsonl'))).toBe(false);
  });
});

describe('anything else', () => {
  it('a reader that closes stdout early (| head -1) gets no stack trace; the command ends normally', async () => {
    // The reader is gone before `locksim schema` writes: its write fails with EPIPE.
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [resolve('bin/locksim.js'), 'schema'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b) => (stderr += String(b)));
    child.stdout.destroy();
    const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)));
    expect(stderr).not.toMatch(/EPIPE|Unhandled|at .*\.(ts|js):\d+/);
    expect(code).toBe(0);
  });

  it('an unexpected error (here the OS refusing to create --out under a file) is one line and exit 70', async () => {
    writeFileSync(join(dir, 'os.yaml'), microbench('  threads: [1]\n  durationNs: 100000', 'os'));
    const r = await locksim(['run', 'os.yaml', '--out', 'os.yaml/sub', '--no-charts']);
    expect(r.code, r.stderr).toBe(70);
    const lines = r.stderr.split('\n').filter((l) => l.length > 0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe("locksim: unexpected error: Error: ENOTDIR: not a directory, mkdir 'os.yaml/sub' (LOCKSIM_DEBUG=1 prints the stack)");
  });
});

describe('plan', () => {
  it('a burst of 5,000 containers of 10,000 layers is refused before it runs, naming --max-events', async () => {
    const plan = readFileSync(resolve('scenarios/plan-blog.yaml'), 'utf8').replace(/layers: 50/, 'layers: 10000').replace(/bursts: \[[^\]]*\]/, 'bursts: [100, 5000]');
    writeFileSync(join(dir, 'plan.yaml'), plan);
    const line = expectOneLine(await locksim(['plan', 'plan.yaml', '--json', 'plan.json']), /^plan\.yaml:\d+:\d+: search\.bursts\[1\]: expected at most 5\.0e8 simulated events per point \(--max-events N lifts it\), got about 4\.0e10 events/);
    expect(line).toContain('for a burst of 5000');
    expect(existsSync(join(dir, 'plan.json'))).toBe(false);
  });
});

describe('calibrate with too few points', () => {
  it('one lockbench file: one line naming the files (was an exception from inside ml-levenberg-marquardt)', async () => {
    const file = readdirSync(resolve('measurements/this-host-2026-11/lockbench')).filter((f) => f.endsWith('.json')).sort()[0]!;
    const r = await locksim(['calibrate', resolve('measurements/this-host-2026-11/lockbench', file), '--out', 'cal']);
    expectOneLine(r, /^\(command line\):1:1: <files>: expected none or at least 2 lockbench measurement files/);
    expect(existsSync(join(dir, 'cal'))).toBe(false);
  });

  it('walk-series runs alone: one line saying they go beside mount storms (was "got none")', async () => {
    const w = resolve('measurements/this-host-w31/measurements');
    const r = await locksim(['calibrate', join(w, 'per-layer-idmap-K1-L10-idle250.r1.json'), join(w, 'per-layer-idmap-K1-L10-idle1000.r1.json'), '--out', 'cal3']);
    expectOneLine(r, /^\(command line\):1:1: <files>: expected at least one lockbench or mountstorm measurement file \(walk-series runs.*go beside mount storms\), got only 2 walk-series run\(s\)$/);
    expect(existsSync(join(dir, 'cal3'))).toBe(false);
  });

  it('two lockbench runs on two placements of the vCPUs: one line naming the transfers, nothing written', async () => {
    const lb = resolve('measurements/this-host-2026-11/lockbench');
    const files = readdirSync(lb).filter((f) => f.endsWith('.json')).sort().slice(0, 2);
    const placed = files.map((f, i) => {
      const m = JSON.parse(readFileSync(join(lb, f), 'utf8'));
      m.results.transferNs = i === 0 ? { before: 26, after: 27 } : { before: 124, after: 125 };
      writeFileSync(join(dir, `placed-${f}`), JSON.stringify(m));
      return join(dir, `placed-${f}`);
    });
    const r = await locksim(['calibrate', ...placed, '--out', 'cal2']);
    expectOneLine(r, /:1:1: results\.transferNs: expected at least 2 lockbench runs on one placement of the vCPUs .*got 2 runs at 27, 125 ns$/);
    expect(existsSync(join(dir, 'cal2'))).toBe(false);
  });
});

describe('output folders', () => {
  it('refuses a folder of other files (untouched), allows a rerun, --force writes; report reads only the manifest', async () => {
    writeFileSync(join(dir, 'out.yaml'), launch('', 'outrun'));
    mkdirSync(join(dir, 'mine'));
    writeFileSync(join(dir, 'mine', 'notes.txt'), 'keep me');
    writeFileSync(join(dir, 'mine', 'profile-old.folded'), 'old;stack 99\n');
    const refused = await locksim(['run', 'out.yaml', '--out', 'mine', '--no-charts']);
    expectOneLine(refused, /^command line:1:1: --out: expected an empty directory or an earlier run of outrun \(--force writes into it anyway\), got "mine" holding 2 other files \(notes\.txt, profile-old\.folded\)$/);
    expect(readdirSync(join(dir, 'mine')).sort()).toEqual(['notes.txt', 'profile-old.folded']);
    // merge writes a run's files too, under the same rule.
    expect((await locksim(['run', 'out.yaml', '--shard', '1/1', '--out', 'shards', '--no-charts'])).code).toBe(0);
    expectOneLine(await locksim(['merge', 'shards', '--out', 'mine', '--no-charts']), /^command line:1:1: --out: expected an empty directory or an earlier run of outrun/);
    expect(readdirSync(join(dir, 'mine')).sort()).toEqual(['notes.txt', 'profile-old.folded']);

    const forced = await locksim(['run', 'out.yaml', '--out', 'mine', '--no-charts', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(join(dir, 'mine', 'notes.txt'), 'utf8')).toBe('keep me');
    const manifest = JSON.parse(readFileSync(join(dir, 'mine', 'manifest.json'), 'utf8')) as { scenario: string; files: string[] };
    expect(manifest.scenario).toBe('outrun');
    expect(manifest.files).toContain('results.json');
    expect(manifest.files).not.toContain('profile-old.folded');

    // report lists the run's profile, not the stray one beside it.
    const report = await locksim(['report', 'mine', '--out', 'report.html']);
    expect(report.code, report.stderr).toBe(0);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('profile-a_containers_2.folded');
    expect(html).not.toContain('profile-old.folded');

    // An earlier run of the same scenario is not "other files".
    writeFileSync(join(dir, 'fresh.yaml'), launch('', 'outrun'));
    const again = await locksim(['run', 'fresh.yaml', '--out', 'mine2', '--no-charts']);
    expect(again.code, again.stderr).toBe(0);
    const rerun = await locksim(['run', 'fresh.yaml', '--out', 'mine2', '--no-charts']);
    expect(rerun.code, rerun.stderr).toBe(0);
    // ...but a run of another scenario is.
    writeFileSync(join(dir, 'other.yaml'), launch('', 'other'));
    expectOneLine(await locksim(['run', 'other.yaml', '--out', 'mine2', '--no-charts']), /--out: expected an empty directory or an earlier run of other .*with a run of outrun/);
  });
});

describe('undefined metrics', () => {
  it('are null in results.json and empty in results.csv, never NaN', async () => {
    // 5,000 threads on 2 cpus for 10 ms: most never get a cpu, so the latency is undefined.
    writeFileSync(join(dir, 'sliced.yaml'), microbench('  threads: [5000]\n  durationNs: 10000000', 'sliced'));
    const r = await locksim(['run', 'sliced.yaml', '--out', 'sliced', '--no-charts', '--workers', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout, 'the summary table shows - for an undefined metric').not.toContain('NaN');
    const json = readFileSync(join(dir, 'sliced', 'results.json'), 'utf8');
    expect(json).not.toContain('NaN');
    expect(JSON.parse(json).points[0].metrics.latencyMeanNs).toBeNull();
    const [header, row] = readFileSync(join(dir, 'sliced', 'results.csv'), 'utf8').trim().split('\r\n').map((l) => l.split(','));
    expect(row![header!.indexOf('latencyMeanNs')]).toBe('');
    expect(Number(row![header!.indexOf('acquisitionsPerSec')])).toBeGreaterThan(0);
    // The report reads null back and shows an empty cell, not NaN.
    const report = await locksim(['report', 'sliced', '--out', 'sliced.html']);
    expect(report.code, report.stderr).toBe(0);
    expect(readFileSync(join(dir, 'sliced.html'), 'utf8')).not.toMatch(/>NaN</);
  });
});
