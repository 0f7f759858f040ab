/**
 * Mutation fuzzing of every input kind locksim reads (issue 11). Shared by the
 * unit test (test/fuzz.inputs.test.ts, a seeded sample per kind) and the
 * long run (scripts/fuzz-inputs.ts, >= 10,000 inputs, counts in
 * docs/reliability.md).
 *
 * A mutated input must either load or throw an InputError whose message is one
 * line of at most MAX_LINE characters located as FILE:LINE:COL with LINE and
 * COL whole numbers. Anything else (another exception, a `:undefined:`
 * location, a message over the limit or spanning lines) is a finding.
 */
import fc from 'fast-check';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError, MAX_MESSAGE_CHARS } from '../../src/config/errors.ts';
import { loadHardwareModel } from '../../src/config/hardwareSchema.ts';
import { loadScenarioFile } from '../../src/runner/runScenario.ts';
import { parseMeasurement } from '../../src/host/measure.ts';
import { importStrace } from '../../src/host/strace.ts';
import { parseHwlocXml } from '../../src/host/topology.ts';
import { loadPlan } from '../../src/plan/planSchema.ts';
import { parseKernelModelText } from '../../src/workload/kernelModel.ts';
import { parseTrace, writeTrace } from '../../src/workload/trace.ts';

export const MAX_LINE = MAX_MESSAGE_CHARS;
const root = join(import.meta.dirname, '..', '..');

export interface InputKind {
  name: string;
  /** Well-formed inputs the mutations start from. */
  seeds: string[];
  /** Tokens worth inserting for this syntax. */
  tokens: string[];
  /** Loads `text` the way the CLI loads such a file named `file`. */
  load(text: string, file: string): unknown;
}

const yamlTokens = [
  '*a', '&a ', '&a [1, 2]\n', '*undefined_anchor', '<<: *a\n', '!!js/function "x"', '!!binary x', ': ', '- ', '{', '}', '[', ']', '"', "'",
  '\t', '~', 'null', '-1', '0', '1e12', '1e308', '-0', '.nan', '.inf', '-.inf', '2147483648', '9007199254740993', '""', 'x'.repeat(5000),
  '\n---\n', '%YAML 1.2\n', '#', '? ', '|\n  a\n', '>\n', '\u0000', '\uFEFF', '\r\n', 'true', '[]', '{}', '\n  ', ' x: 1', '\ny: 2\n',
];
const jsonTokens = [
  '{', '}', '[', ']', '"', ',', ':', 'null', '-1', '0', '1e12', '1e308', 'NaN', '""', '"x"', 'true', '{}', '[]', '\n', '\\u0000',
  '"pass":0,', '"layer":10001,', '"path":"",', '"dur_ns":-5,', '"container":"zz",', '"op":"mount",', 'x'.repeat(5000), '9007199254740993',
];
const xmlTokens = [
  '<!DOCTYPE topology SYSTEM "hwloc2.dtd">', '<!DOCTYPE x>', '<object type="Core" os_index="0">', '<object type="PU" os_index="999999"/>',
  '</object>', '<object type="Package">', '&lt;', '&amp;', '&bogus;', '<![CDATA[x]]>', '<!-- c -->', '<?xml version="1.0"?>', '"', "'", '<', '>',
  'os_index="-1"', 'cpuset="0xzz"', 'type="L3Cache"', '<info name="CPUModel" value="x"/>', '<distances2 type="NUMANode" nbobjs="2">', 'x'.repeat(5000),
];
const straceTokens = [
  '\n', ' = -1 EPERM (Operation not permitted)', ' <unfinished ...>', '<... mount_setattr resumed>', ' = ?', '+++ exited with 0 +++',
  'open_tree(', 'move_mount(', 'mount_setattr(', 'fsopen("overlay", 0) = 3', 'fsconfig(3, FSCONFIG_SET_STRING, "lowerdir+", "/l", 0) = 0', 'umount2("/m", 0) = 0',
  '12:00:00.000000', '99:99:99.999999', '0.000000', ' <0.000010>', ' <-1.0>', '"', ')', '(', ', ', '123 ', 'x'.repeat(5000), '\\x00', '...',
];

function readSeeds(dir: string, accept: (f: string) => boolean): string[] {
  return readdirSync(join(root, dir)).filter(accept).sort().map((f) => readFileSync(join(root, dir, f), 'utf8'));
}

let counter = 0;
/** A scratch directory holding copies of what scenario files refer to (traces/), so mutated scenarios resolve the same. */
function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'locksim-fuzz-'));
  cpSync(join(root, 'scenarios', 'traces'), join(dir, 'traces'), { recursive: true });
  return dir;
}
let scratch: string | undefined;
function writeScratch(text: string, name: string): string {
  if (scratch === undefined) {
    scratch = scratchDir();
    const made = scratch;
    process.once('exit', () => rmSync(made, { recursive: true, force: true }));
  }
  const path = join(scratch, `${counter++}-${name}`);
  writeFileSync(path, text);
  return path;
}

export function inputKinds(): InputKind[] {
  return [
    {
      name: 'scenario',
      seeds: readSeeds('scenarios', (f) => f.endsWith('.yaml') && !f.startsWith('plan')),
      tokens: yamlTokens,
      // As `run` loads it: validation and every check made before simulating (preflight.ts).
      load: (text, file) => loadScenarioFile(writeScratch(text, file)),
    },
    {
      name: 'hardware model',
      seeds: readSeeds('models/hardware', (f) => f.endsWith('.yaml')),
      tokens: yamlTokens,
      // Written to a fresh path: models are cached by path.
      load: (text, file) => loadHardwareModel(writeScratch(text, file)),
    },
    {
      name: 'kernel model',
      seeds: readSeeds('models/kernel', (f) => f.endsWith('.yaml')),
      tokens: yamlTokens,
      load: (text, file) => parseKernelModelText(text, file),
    },
    {
      name: 'trace',
      seeds: [readFileSync(join(root, 'test/fixtures/traces/good.jsonl'), 'utf8'), readFileSync(join(root, 'scenarios/traces/mountstorm-K8-L10.trace.jsonl'), 'utf8').split('\n').slice(0, 60).join('\n')],
      tokens: jsonTokens,
      load: (text, file) => parseTrace(text, file),
    },
    {
      name: 'strace output',
      seeds: readSeeds('test/fixtures/strace', (f) => f.endsWith('.strace')),
      tokens: straceTokens,
      // What import-strace writes must be a trace the simulator accepts.
      load: (text, file) => {
        const imported = importStrace(text, file);
        return parseTrace(writeTrace(imported.trace.header, imported.trace.ops), `${file}.jsonl`);
      },
    },
    {
      name: 'hwloc XML',
      seeds: readSeeds('test/fixtures/hwloc', (f) => f.endsWith('.xml') && !f.startsWith('malformed')),
      tokens: xmlTokens,
      load: (text, file) => parseHwlocXml(text, file),
    },
    {
      name: 'measurement',
      seeds: [
        ...readSeeds('measurements/this-host-2026-11/lockbench', (f) => f.endsWith('.json')).slice(0, 3),
        ...readSeeds('measurements/this-host-2026-11/mountstorm', (f) => f.endsWith('.json')).slice(0, 3),
      ],
      tokens: jsonTokens,
      load: (text, file) => parseMeasurement(text, file),
    },
    {
      name: 'plan',
      seeds: readSeeds('scenarios', (f) => f.startsWith('plan') && f.endsWith('.yaml')),
      tokens: yamlTokens,
      load: (text, file) => loadPlan(writeScratch(text, file)),
    },
  ];
}

/** One edit of the text, positions as fractions of its length so they fit any seed. */
export type Mutation =
  | { t: 'delete'; at: number; len: number }
  | { t: 'insert'; at: number; text: string }
  | { t: 'number'; which: number; value: string }
  | { t: 'truncate'; at: number }
  | { t: 'duplicate'; at: number; len: number; times: number }
  | { t: 'nest'; at: number; open: string; close: string; depth: number }
  | { t: 'aliasBomb'; at: number; width: number; levels: number };

const extremeNumbers = ['0', '-1', '-0', '1e12', '1e15', '1e300', '1e309', '-1e309', '0.5', '2.5e-9', '1000000000', '10000000', '4294967296', 'NaN', '.nan', '.inf', '9007199254740993', '007', '0x10', '1_000'];
// Positions as millionths of the length: fc.double favours extremes such as 5e-324, which would all mean "at the start".
const fraction = fc.integer({ min: 0, max: 1_000_000 }).map((n) => n / 1_000_000);

export function mutationArb(kind: InputKind): fc.Arbitrary<Mutation> {
  const nestPairs = kind.name === 'hwloc XML'
    ? [['<object type="Group">', '</object>'], ['<x>', '</x>']]
    : kind.tokens === jsonTokens ? [['[', ']'], ['{"a":', '}']] : kind.name === 'strace output' ? [['(', ')'], ['{', '}']] : [['[', ']'], ['{a: ', '}'], ['- ', '']];
  return fc.oneof(
    { weight: 3, arbitrary: fc.record({ t: fc.constant('delete' as const), at: fraction, len: fc.integer({ min: 1, max: 60 }) }) },
    { weight: 4, arbitrary: fc.record({ t: fc.constant('insert' as const), at: fraction, text: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...kind.tokens) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }) }) },
    { weight: 4, arbitrary: fc.record({ t: fc.constant('number' as const), which: fc.nat(400), value: fc.constantFrom(...extremeNumbers) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('truncate' as const), at: fraction }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('duplicate' as const), at: fraction, len: fc.integer({ min: 1, max: 400 }), times: fc.integer({ min: 1, max: 50 }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('nest' as const), at: fraction, open: fc.constant(nestPairs[0]![0]!), close: fc.constant(nestPairs[0]![1]!), depth: fc.integer({ min: 50, max: 3000 }) }).map((m) => {
      const pair = nestPairs[m.depth % nestPairs.length]!;
      return { ...m, open: pair[0]!, close: pair[1]! };
    }) },
    { weight: kind.tokens === yamlTokens ? 1 : 0, arbitrary: fc.record({ t: fc.constant('aliasBomb' as const), at: fraction, width: fc.integer({ min: 2, max: 12 }), levels: fc.integer({ min: 2, max: 9 }) }) },
  );
}

export function applyMutation(text: string, m: Mutation): string {
  const pos = (f: number) => Math.min(text.length, Math.floor(f * (text.length + 1)));
  switch (m.t) {
    case 'delete': { const p = pos(m.at); return text.slice(0, p) + text.slice(p + m.len); }
    case 'insert': { const p = pos(m.at); return text.slice(0, p) + m.text + text.slice(p); }
    case 'truncate': return text.slice(0, pos(m.at));
    case 'duplicate': { const p = pos(m.at); const piece = text.slice(p, p + m.len); return text.slice(0, p) + piece.repeat(m.times) + text.slice(p); }
    case 'nest': { const p = pos(m.at); return text.slice(0, p) + m.open.repeat(m.depth) + m.close.repeat(m.depth) + text.slice(p); }
    case 'aliasBomb': {
      // The "billion laughs" of YAML: each level lists the previous one `width` times.
      const lines = ['bomb0: &l0 [lol]'];
      for (let i = 1; i <= m.levels; i++) lines.push(`bomb${i}: &l${i} [${Array(m.width).fill(`*l${i - 1}`).join(', ')}]`);
      const lineStart = text.lastIndexOf('\n', pos(m.at) - 1) + 1;
      return text.slice(0, lineStart) + lines.join('\n') + '\n' + text.slice(lineStart);
    }
    case 'number': {
      const re = /-?\d+(\.\d+)?([eE][-+]?\d+)?/g;
      const spans: [number, number][] = [];
      for (let r = re.exec(text); r; r = re.exec(text)) spans.push([r.index, r.index + r[0].length]);
      if (spans.length === 0) return text;
      const [a, b] = spans[m.which % spans.length]!;
      return text.slice(0, a) + m.value + text.slice(b);
    }
  }
}

export type Outcome = 'loaded' | 'input error' | 'crash' | 'over-long line' | 'multi-line' | 'bad location' | 'warning';

export interface Classified {
  outcome: Outcome;
  message?: string;
}

const located = /^.+:\d+:\d+: /;

// A library's process warning is a second line on the CLI's stderr. Node
// emits warnings on the next tick, so they are caught by replacing
// process.emitWarning while an input loads.
let warned: string | undefined;
const emitWarning = process.emitWarning;

/** Runs one input and says what happened. */
export function classify(kind: InputKind, text: string, file: string): Classified {
  warned = undefined;
  process.emitWarning = ((w: string | Error) => { warned = String(w instanceof Error ? w.message : w).slice(0, 200); }) as typeof process.emitWarning;
  try {
    const r = classifyLoad(kind, text, file);
    return warned !== undefined ? { outcome: 'warning', message: warned } : r;
  } finally {
    process.emitWarning = emitWarning;
  }
}

function classifyLoad(kind: InputKind, text: string, file: string): Classified {
  try {
    kind.load(text, file);
    return { outcome: 'loaded' };
  } catch (e) {
    if (!(e instanceof InputError)) return { outcome: 'crash', message: `${(e as Error)?.name}: ${String((e as Error)?.message ?? e).slice(0, 300)}` };
    const msg = e.message;
    if (msg.includes('\n')) return { outcome: 'multi-line', message: msg.slice(0, 300) };
    if (msg.length > MAX_LINE) return { outcome: 'over-long line', message: `${msg.length} chars: ${msg.slice(0, 200)}` };
    if (!located.test(msg) || msg.includes(':undefined:')) return { outcome: 'bad location', message: msg };
    return { outcome: 'input error' };
  }
}

export interface FuzzCase { seed: number; mutations: Mutation[] }

export function caseArb(kind: InputKind): fc.Arbitrary<FuzzCase> {
  return fc.record({ seed: fc.nat(kind.seeds.length - 1), mutations: fc.array(mutationArb(kind), { minLength: 1, maxLength: 3 }) });
}

export function caseText(kind: InputKind, c: FuzzCase): string {
  return c.mutations.reduce(applyMutation, kind.seeds[c.seed]!);
}

export const fileNameOf: Record<string, string> = {
  scenario: 'fuzz-scenario.yaml', 'hardware model': 'fuzz-model.yaml', 'kernel model': 'fuzz-kernel.yaml', trace: 'fuzz.trace.jsonl',
  'strace output': 'fuzz.strace', 'hwloc XML': 'fuzz-topology.xml', measurement: 'fuzz-measurement.json', plan: 'fuzz-plan.yaml',
};

export interface KindReport { kind: string; runs: number; counts: Record<Outcome, number>; examples: Partial<Record<Outcome, string[]>> }

/** Runs `runs` seeded cases of one kind and tallies the outcomes (examples of each failure kept). */
export function fuzzKind(kind: InputKind, runs: number, seed: number): KindReport {
  const counts: Record<Outcome, number> = { loaded: 0, 'input error': 0, crash: 0, 'over-long line': 0, 'multi-line': 0, 'bad location': 0, warning: 0 };
  const examples: Partial<Record<Outcome, string[]>> = {};
  const file = fileNameOf[kind.name]!;
  fc.assert(
    fc.property(caseArb(kind), (c) => {
      const r = classify(kind, caseText(kind, c), file);
      counts[r.outcome]++;
      if (r.outcome !== 'loaded' && r.outcome !== 'input error') {
        const list = (examples[r.outcome] ??= []);
        if (list.length < 5) list.push(`${r.message} <- ${JSON.stringify(c).slice(0, 300)}`);
      }
      return true;
    }),
    { numRuns: runs, seed, endOnFailure: true },
  );
  return { kind: kind.name, runs, counts, examples };
}
