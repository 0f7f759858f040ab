// Schema of a scenario file (scenarios/*.yaml), see docs/architecture.md
// "Scenario files". A scenario is one chart: its variants are the curves, the
// kind's x-axis list (microbench.threads, pingpong.to, ...) the points on each.
//
// Sweeps. An optional `sweep:` maps a dotted parameter path to a list of values:
//
//   sweep:
//     microbench.criticalSectionNs: [50, 200]
//     machine.smt: [true, false]
//
// Each variant is then repeated once per combination of sweep values (the
// cartesian product, keys in file order), with the values applied and the
// label extended: "r5.metal, criticalSectionNs=200, smt=false". Paths start
// with the kind's section (`microbench.`, `pingpong.`, `launch.`) or with
// `machine.` (applied to every variant's machine). The x-axis list itself
// cannot be swept. Every combination is validated when the file is loaded, and
// a bad value is reported at its position in the sweep list. Expansion happens
// in points.ts (expandVariants).

import { dirname, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { buildTopology } from '../hardware/topology.ts';
import { InputError } from './errors.ts';
import { loadTraceFile } from '../workload/launch.ts';
import { defaultModelsDir, isBareModelName, loadHardwareModel } from './hardwareSchema.ts';
import { launchSchema as launchParamsSchema } from '../workload/launchParams.ts';
import { describeIssue, formatPath, loadYamlSource, type YamlSource } from './yamlLoad.ts';
import { ablateListSchema } from './ablations.ts';
// points.ts imports this module too; expandVariants is only called at run time, after both are loaded.
import { expandVariants } from './points.ts';

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();
/** Threads of a microbenchmark point: Linux's default pid_max (32,768) x 2 is beyond any real benchmark. */
const MAX_THREADS = 65_536;

export const machineSchema = z.strictObject({
  /** A name in models/hardware or a path to a model file (relative to the scenario file). */
  model: z.string().min(1).describe("A name in models/hardware or a path to a model file (relative to the scenario file)."),
  sockets: positiveInt.optional().describe("Use only the first N sockets of the machine"),
  smt: z.boolean().optional().describe("false: one thread per core (hyperthreading off); true: require SMT"),
  cores: positiveInt.optional().describe("Use only the first N cores, socket-major (after the socket restriction)"),
});

export const variantSchema = z.strictObject({
  label: z.string().trim().min(1).describe("The curve's name in charts, tables and point keys"),
  machine: machineSchema.describe("The machine: a hardware model and optional restrictions"),
});

const sweepValue = z.union([z.number(), z.string(), z.boolean()]);

/** Fields every kind of scenario has. */
const commonShape = {
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'a name of letters, digits, dot, dash or underscore (it names output files)').describe("Names the output files: letters, digits, dot, dash or underscore"),
  description: z.string().optional().describe("Free text"),
  seed: nonNegativeInt.default(1).describe("Every point's random streams derive from this and the point's key (same seed, same bytes)"),
  variants: z.array(variantSchema).min(1).describe("The curves of the chart: one machine (with restrictions) each"),
  sweep: z.record(z.string().regex(/^[A-Za-z]\w*(\.[A-Za-z]\w*)+$/, 'a dotted parameter path such as microbench.criticalSectionNs'), z.array(sweepValue).min(1)).optional().describe("Multiply the variants over parameter values: dotted path (machine.smt, launch.layers, ...) to a list of values"),
  output: z.strictObject({ charts: z.boolean().default(true).describe('Write SVG/PNG charts and their vega-lite specs (locksim run --no-charts turns them off)') }).default({ charts: true }).describe("What to write besides the results"),
  /** Mechanisms switched off in every variant (src/config/ablations.ts; `locksim run --help` lists them). */
  ablate: ablateListSchema.optional().describe("Mechanisms switched off in every variant (src/config/ablations.ts; `locksim run --help` lists them)."),
  simulation: z.strictObject({
    detailed: z.boolean().default(false).describe('true: simulate every spinner of a herd on its own (each woken by every write to the line it spins on, re-reading it itself); false: herds in aggregate, re-read by the fabric at their own arrival times (docs/model.md 2b). `locksim run --detailed` sets it.'),
  }).optional().describe("How the simulation is carried out, not what it models: results agree within 2% between the two (test/herd.slow.test.ts)."),
  attribution: z.strictObject({ gap: z.tuple([z.string().min(1), z.string().min(1)]).describe('Two variant labels [A, B]: the gap is metric(A) / metric(B) - 1'), metric: z.string().min(1).optional().describe('The metric compared (default: launchP99S for launches)') }).optional().describe("The headline gap `locksim attribute` explains: metric(gap[0]) / metric(gap[1]) - 1 at each x, two variant labels (after sweep expansion)."),
};

/** The lock microbenchmark of the blog's figure 10: N threads spinning on one global lock. */
export const microbenchSchema = z.strictObject({
  lock: z.enum(['ttas', 'tas', 'ticket', 'ticket-split', 'qspinlock']).default('ttas').describe("Lock algorithm: ttas, tas, ticket, ticket-split or qspinlock (Linux's MCS-based spinlock)"),
  /** x axis: number of threads. */
  threads: z.array(positiveInt.max(MAX_THREADS)).min(1).describe("x axis: number of threads."),
  criticalSectionNs: z.number().nonnegative().max(1e9).default(50).describe("Time the lock is held per acquisition, ns"),
  thinkNs: z.number().nonnegative().max(1e9).default(0).describe("Time a thread spends outside the lock between acquisitions."),
  distribution: z.enum(['fixed', 'exponential']).default('fixed').describe("fixed: every critical section and think time as given; exponential: drawn with that mean"),
  durationNs: z.number().positive().max(1e11).default(10_000_000).describe("The run's horizon: simulated time, at most 100 s (the blog's benchmark ran seconds; the event guard refuses most long runs anyway)."),
  placement: z.enum(['spread', 'compact', 'scatter']).default('scatter').describe("Which idle CPU a thread is put on: spread (a whole idle core first, as the kernel's select_idle_core), compact (the lowest-numbered idle CPU) or scatter (a random idle CPU)"),
});

/** Core-to-core ping-pong: one cache line bounced between cpu `from` and each cpu in `to`. */
export const pingpongSchema = z.strictObject({
  from: nonNegativeInt.default(0).describe("The logical CPU that starts every round trip"),
  /** x axis: the partner logical cpu of each point. */
  to: z.array(nonNegativeInt).min(1).describe("x axis: the partner logical cpu of each point."),
  roundTrips: positiveInt.max(10_000_000).default(1000).describe("The run's horizon: at most ten million round trips (the median settles within thousands)."),
});

/** Container launches (issue 3): the section's schema lives with the launch simulation. */
export const launchSchema = launchParamsSchema;

export const lockMicrobenchScenarioSchema = z.strictObject({ ...commonShape, kind: z.literal('lock-microbench').describe('A lock microbenchmark (the blog\'s Figure 10): x is threads'), microbench: microbenchSchema.describe('N threads spinning on one global lock') });
export const pingpongScenarioSchema = z.strictObject({ ...commonShape, kind: z.literal('pingpong').describe('Core-to-core ping-pong: x is the partner CPU'), pingpong: pingpongSchema.describe('One cache line bounced between cpu from and each cpu in to') });
export const launchScenarioSchema = z.strictObject({ ...commonShape, kind: z.literal('launch').describe('Container launch storms: x is containers launched together'), launch: launchSchema.describe('A burst (or stream) of container launches on one machine, replayed through the kernel model') });

export const scenarioSchema = z
  .discriminatedUnion('kind', [lockMicrobenchScenarioSchema, pingpongScenarioSchema, launchScenarioSchema])
  .superRefine((s, ctx) => {
    // Labels name curves and seed points; two equal labels would merge curves
    // and give two points the same seed.
    const seen = new Map<string, number>();
    s.variants.forEach((v, i) => {
      const first = seen.get(v.label);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['variants', i, 'label'], message: `a label not used before (variants[${first}] has it)`, params: { got: JSON.stringify(v.label) } });
      } else seen.set(v.label, i);
    });
    // Two equal x values would be two points with one key (and one seed).
    const { section, xField } = kindSection[s.kind];
    const xs = (s as unknown as Record<string, Record<string, unknown>>)[section]?.[xField];
    if (Array.isArray(xs)) {
      const dup = xs.findIndex((v, i) => xs.indexOf(v) !== i);
      if (dup >= 0) ctx.addIssue({ code: 'custom', path: [section, xField, dup], message: 'each x value once', params: { got: `${JSON.stringify(xs[dup])} again` } });
    }
    for (const [key, values] of Object.entries(s.sweep ?? {})) {
      const dup = values.findIndex((v, i) => values.indexOf(v) !== i);
      if (dup >= 0) ctx.addIssue({ code: 'custom', path: ['sweep', key, dup], message: 'each sweep value once', params: { got: `${JSON.stringify(values[dup])} again` } });
    }
  });

export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioKind = Scenario['kind'];
export type Machine = z.output<typeof machineSchema>;
export type Variant = z.output<typeof variantSchema>;
export type Microbench = z.output<typeof microbenchSchema>;
export type Pingpong = z.output<typeof pingpongSchema>;

/** The section of a scenario that holds the kind's parameters, and its x-axis field. */
export const kindSection = {
  'lock-microbench': { section: 'microbench', xField: 'threads' },
  pingpong: { section: 'pingpong', xField: 'to' },
  launch: { section: 'launch', xField: 'containers' },
} as const satisfies Record<ScenarioKind, { section: string; xField: string }>;

/** JSON Schema of scenario files, for editors (input side: fields with defaults are optional). */
export function scenarioJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

/**
 * Reads, validates and checks a scenario file against the machines it names:
 * unknown models, restrictions the machine cannot satisfy, cpus that do not
 * exist and bad sweep values are all InputErrors pointing into this file.
 * Model paths are returned absolute, so later stages need not know where the
 * scenario file was.
 */
export type SweepValues = Record<string, (string | number | boolean)[]>;

/**
 * `cliSweep` adds sweep entries given on the command line (`--sweep
 * PATH=V1,V2`); they are checked like the file's, and an error in one is
 * reported as that flag rather than as a place in the file.
 */
export function loadScenario(file: string, modelsDir: string = defaultModelsDir, cliSweep: SweepValues = {}): Scenario {
  return loadScenarioSource(file, modelsDir, cliSweep).scenario;
}

/**
 * loadScenario, also returning the parsed file, so later checks (the run's
 * preflight: kernel models, output names, resource estimates) can locate what
 * they refuse in it.
 */
export function loadScenarioSource(file: string, modelsDir: string = defaultModelsDir, cliSweep: SweepValues = {}): { scenario: Scenario; source: YamlSource } {
  const source = loadYamlSource(file);
  return { scenario: checkScenarioWithSweep(file, source, modelsDir, cliSweep), source };
}

function checkScenarioWithSweep(file: string, source: YamlSource, modelsDir: string, cliSweep: SweepValues): Scenario {
  const cliKeys = Object.keys(cliSweep);
  if (cliKeys.length === 0) return checkScenario(file, source, modelsDir);
  const data = source.data as Record<string, unknown> | null;
  if (data && typeof data === 'object' && !Array.isArray(data)) {
    data.sweep = { ...((data.sweep as Record<string, unknown> | undefined) ?? {}), ...cliSweep };
  }
  try {
    return checkScenario(file, source, modelsDir);
  } catch (e) {
    const key = e instanceof InputError ? cliKeys.find((k) => e.field.includes(k)) : undefined;
    if (e instanceof InputError && key !== undefined) {
      throw new InputError({ file: 'command line', line: 1, column: 1, field: `--sweep ${key}`, expected: e.expected, got: e.got });
    }
    throw e;
  }
}

function checkScenario(file: string, source: YamlSource, modelsDir: string): Scenario {
  const scenario = source.validate(scenarioSchema);
  checkSweep(source, scenario);
  if (scenario.attribution) {
    const labels = [...new Set(expandVariants(scenario).map((v) => v.label))];
    scenario.attribution.gap.forEach((label, i) => {
      if (!labels.includes(label)) throw source.error(['attribution', 'gap', i], `a variant label (${labels.map((l) => JSON.stringify(l)).join(', ')})`, JSON.stringify(label));
    });
    if (scenario.attribution.gap[0] === scenario.attribution.gap[1]) throw source.error(['attribution', 'gap', 1], 'a variant other than gap[0]', JSON.stringify(scenario.attribution.gap[1]));
  }
  const baseDir = dirname(file);
  if (scenario.kind === 'launch' && scenario.launch.trace !== undefined) {
    // A recorded trace is read and checked now, so a bad line stops the run
    // before anything is simulated (the error names the trace file's line).
    const tracePath = resolve(baseDir, scenario.launch.trace);
    if (!existsSync(tracePath)) throw source.error(['launch', 'trace'], 'a trace file that exists (relative to the scenario file)', JSON.stringify(scenario.launch.trace));
    const n = loadTraceFile(tracePath).header.containers.length;
    scenario.launch.containers.forEach((k, j) => {
      if (k > n) throw source.error(['launch', 'containers', j], `at most the trace's ${n} containers`, String(k));
    });
    scenario.launch.trace = tracePath;
  }

  scenario.variants.forEach((variant, i) => {
    const machinePath = ['variants', i, 'machine'];
    const model = loadHardwareModel(variant.machine.model, modelsDir, { source, path: [...machinePath, 'model'], baseDir });
    const machineVariants = machineSweepVariants(scenario, variant.machine);
    for (const { machine, sweepPath } of machineVariants) {
      const topology = buildTopology(model, machine, (field, expected, got) =>
        source.error(sweepPath ?? [...machinePath, field], expected, got),
      );
      if (scenario.kind === 'pingpong') {
        const n = topology.cpus.length;
        const p = scenario.pingpong;
        const where = sweepPath ? ` (with ${formatPath(sweepPath)})` : '';
        if (p.from >= n) throw source.error(['pingpong', 'from'], `a logical cpu below ${n} on ${variant.label}${where}`, String(p.from));
        p.to.forEach((cpu, j) => {
          if (cpu >= n || cpu === p.from) throw source.error(['pingpong', 'to', j], `a logical cpu below ${n} other than from (${p.from}) on ${variant.label}${where}`, String(cpu));
        });
      }
    }
    if (!isBareModelName(variant.machine.model)) {
      variant.machine.model = resolve(baseDir, variant.machine.model);
    }
  });
  return scenario;
}

/** Each machine a variant takes under `machine.*` sweeps, with the sweep entry responsible. */
function machineSweepVariants(scenario: Scenario, machine: Machine): { machine: Machine; sweepPath?: (string | number)[] }[] {
  const out: { machine: Machine; sweepPath?: (string | number)[] }[] = [{ machine }];
  for (const [key, values] of Object.entries(scenario.sweep ?? {})) {
    if (!key.startsWith('machine.')) continue;
    const field = key.slice('machine.'.length);
    values.forEach((value, j) => out.push({ machine: { ...machine, [field]: value }, sweepPath: ['sweep', key, j] }));
  }
  return out;
}

/**
 * Every sweep value is applied alone to the file's data and the result is
 * validated again, so a wrong path or a value of the wrong type is reported at
 * the sweep entry instead of failing later during a run.
 */
function checkSweep(source: YamlSource, scenario: Scenario): void {
  const { section, xField } = kindSection[scenario.kind];
  for (const [key, values] of Object.entries(scenario.sweep ?? {})) {
    const [head, ...rest] = key.split('.');
    const keyPath = ['sweep', key];
    if (head !== section && head !== 'machine') {
      throw source.error(keyPath, `a path starting with ${section}. or machine. (this is a ${scenario.kind} scenario)`, JSON.stringify(key));
    }
    if (head === section && rest.length === 1 && rest[0] === xField) {
      throw source.error(keyPath, `a parameter other than the x axis ${section}.${xField}`, JSON.stringify(key));
    }
    if (head === 'machine' && (rest.length !== 1 || rest[0] === 'model')) {
      throw source.error(keyPath, 'machine.sockets, machine.smt or machine.cores', JSON.stringify(key));
    }
    values.forEach((value, j) => {
      const data = structuredClone(source.data) as Record<string, unknown>;
      delete data.sweep;
      const targets: Record<string, unknown>[] = head === 'machine'
        ? ((data.variants as { machine: Record<string, unknown> }[]).map((v) => v.machine))
        : [data];
      const path = head === 'machine' ? rest : [head!, ...rest];
      for (const target of targets) setPath(target, path, value);
      const result = scenarioSchema.safeParse(data);
      if (!result.success) {
        const issue = result.error.issues[0]!;
        const issuePath = issue.path.map(String).join('.');
        const { expected } = describeIssue(issue, value);
        const what = issue.code === 'unrecognized_keys' ? `a path to an existing field (${issue.keys[0]} is not one)` : expected;
        throw source.error([...keyPath, j], issuePath.endsWith(rest.join('.')) || issue.code === 'unrecognized_keys' ? what : `a value that keeps ${formatPath(issue.path as PropertyKey[])} valid: ${expected}`, JSON.stringify(value));
      }
    });
  }
}

/** Sets `path` inside `target`, creating mappings on the way (used for sweep values). */
export function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let o = target;
  for (const seg of path.slice(0, -1)) {
    if (o[seg] === null || typeof o[seg] !== 'object') o[seg] = {};
    o = o[seg] as Record<string, unknown>;
  }
  o[path[path.length - 1]!] = value;
}
