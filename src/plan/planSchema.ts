/**
 * Schema of a capacity-plan file (scenarios/plan-*.yaml, docs/plan.md): a
 * workload, an objective and candidate machines. Loading validates the file
 * with zod through the positioned YAML loader, then checks every machine it
 * names (unknown model, a restriction the machine cannot satisfy) so that a
 * bad plan is one located InputError before any simulation starts.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { defaultModelsDir, isBareModelName, loadHardwareModel } from '../config/hardwareSchema.ts';
import { machineSchema } from '../config/scenarioSchema.ts';
import { InputError } from '../config/errors.ts';
import { loadYamlSource } from '../config/yamlLoad.ts';
import { buildTopology } from '../hardware/topology.ts';
import { RUNTIME_VARIANTS } from '../workload/generators.ts';
import { hostActivitySchema, imageMixSchema, openArrivalSchema } from '../workload/launchParams.ts';
import { listKernelModels, loadKernelModel } from '../workload/kernelModel.ts';
import { DEFAULT_MAX_EVENTS, estimatePointCost, formatBytes, formatCount } from '../config/budget.ts';
import type { Point } from '../config/points.ts';
import { ablateListSchema } from '../config/ablations.ts';

const positiveInt = z.number().int().positive();
/** Bursts larger than this would take hours to simulate; a typo is likelier than intent. */
const MAX_BURST = 5_000;
const burstSize = positiveInt.max(MAX_BURST);

/** The launch workload, as in a scenario's `launch:` section minus the x axis and the timeout (the objective holds that). */
export const workloadSchema = z
  .strictObject({
    variant: z.enum(RUNTIME_VARIANTS).describe('Runtime variant whose mount calls are generated: per-layer-idmap (containerd 2.0.x-2.1.4), common-parent (2.0.7, 2.1.5, 2.2), common-parent-one-pass (2.3), fsconfig-lowerdir-plus (proposed), shifted-untar (no idmap)'),
    layers: positiveInt.max(10_000).optional().describe('Layers of every container image (give this or imageMix)'),
    imageMix: imageMixSchema.optional().describe('Images drawn per container with relative weights: [{ layers, weight, image? }] (give this or layers)'),
    arrival: openArrivalSchema.describe('When containers arrive: { kind: burst } all at once, or { kind: rate, perSecond } as a Poisson stream'),
    kernel: z.string().min(1).default('linux-6.6').describe('Kernel model: a name in models/kernel or a path to a file'),
    host: hostActivitySchema.optional().describe("Other activity on the machine, as a scenario's launch.host (path walks per second, other runnable tasks, systemd, CRI polling)"),
    horizonNs: z.number().positive().optional().describe('Simulated time limit per point, ns (launches unfinished by then have failed)'),
  })
  .describe('The launch workload, as a scenario\'s launch: section without the x axis and the timeout')
  .refine((w) => (w.layers === undefined) !== (w.imageMix === undefined), { message: 'exactly one of layers or imageMix', path: ['layers'] });

export const objectiveSchema = z.strictObject({
  /** The launch latency p99 must not exceed this. */
  p99LaunchS: z.number().positive().describe('Target: the p99 launch latency (upper end of its confidence interval) must not exceed this, s'),
  /** At least this share of launches must finish within the health-check timeout. */
  successRate: z.number().min(0).max(1).default(0.99).describe('Target: at least this share of launches must finish within the health-check timeout'),
  /** kubelet's health check: a launch slower than this failed. */
  healthCheckTimeoutS: z.number().positive().default(30).describe("kubelet's health check, s: a launch slower than this failed"),
}).describe('What a safe burst must meet');

/** A candidate: a model name, a model file path, or a model with restrictions. */
export const candidateSchema = z.union([
  z.string().min(1).describe('A model name in models/hardware (e.g. r5.metal) or a path to a model file'),
  machineSchema
    .extend({
      model: z.string().min(1).describe('A model name in models/hardware or a path to a model file (relative to the plan file)'),
      sockets: positiveInt.optional().describe('Use only the first N sockets'),
      smt: z.boolean().optional().describe('false: one thread per core (hyperthreading off)'),
      cores: positiveInt.optional().describe('Use only the first N cores, socket-major'),
      label: z.string().trim().min(1).optional().describe('Name in the answers (default: the model and its restrictions)'),
    })
    .strict()
    .describe('A model with restrictions'),
]).describe('A candidate machine');

/** The K values at which the objective is checked: an explicit list, or bisection between two bounds. */
export const searchSchema = z.union([
  z.strictObject({ bursts: z.array(burstSize).min(1).describe('Bursts to check first; the answer is then refined by bisection to 5% of the first failing burst') }),
  z.strictObject({
    bisect: z
      .strictObject({
        low: burstSize.describe('Smallest burst checked'),
        high: burstSize.describe('Largest burst checked'),
        step: positiveInt.default(10).describe('Stop when the interval is this narrow'),
      })
      .describe('Bisection between two bounds, assuming a larger burst is never easier'),
  }),
]).describe('Where to look for the largest safe burst');

export const alternativesSchema = z.strictObject({
  /** Runtime fix: the common-parent variant (containerd PR #12092). */
  runtimeFix: z.boolean().default(true).describe('Try the runtime fixes: common-parent (containerd PR #12092: 2.0.7, 2.1.5, 2.2) and its one-pass form (PR #12433: 2.3)'),
  smtOff: z.boolean().default(true).describe('Try hyperthreading off, on machines that have it'),
  oneSocket: z.boolean().default(true).describe('Try one socket, on machines with two'),
  /** Each other candidate, as it is given. */
  otherCandidates: z.boolean().default(true).describe('Try each other candidate machine'),
}).describe('Which single changes to try at your burst, ranked by how much they lower the p99');

export const planSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'a name of letters, digits, dot, dash or underscore').describe('Name of the plan (letters, digits, dot, dash, underscore)'),
  description: z.string().optional().describe('Free text'),
  seed: z.number().int().nonnegative().default(1).describe("Every point's seed derives from this and the point's key"),
  workload: workloadSchema,
  /** The user's burst: containers launched together (or, with a rate arrival, launches in the stream). */
  burst: burstSize.describe('Your burst: containers launched together (with a rate arrival: launches in the stream)'),
  objective: objectiveSchema,
  search: searchSchema,
  /** Simulations per configuration, each with its own seed. */
  replications: positiveInt.max(100).default(3).describe('Simulations per configuration and burst, each with its own seed'),
  /** Confidence level of the intervals (the t quantiles are tabulated for these). */
  confidence: z.literal([0.9, 0.95, 0.99]).default(0.95).describe('Confidence level of the intervals'),
  candidates: z.array(candidateSchema).min(1).describe('Machines to compare'),
  alternatives: alternativesSchema.default(alternativesSchema.parse({})),
  /** Mechanisms switched off in every configuration (src/config/ablations.ts). */
  ablate: ablateListSchema.optional().describe('Mechanisms switched off in every configuration (names: locksim run --help)'),
}).describe('A capacity plan: which machine, how large a burst, at what cost (docs/plan.md)');

/** JSON Schema of plan files, for editors (`locksim schema plan > plan.schema.json`). */
export function planJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(planSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

export type PlanFile = z.output<typeof planSchema>;
export type Workload = z.output<typeof workloadSchema>;
export type Objective = z.output<typeof objectiveSchema>;

/** A candidate after loading: a label, the machine as written (for keys and output) and resolved (for simulation). */
export interface PlanCandidate {
  label: string;
  /** As written in the plan file (model name or path as given): part of point keys, so seeds do not depend on the cwd. */
  machine: { model: string; sockets?: number; smt?: boolean; cores?: number };
  /** The model name or absolute path the simulation loads. */
  modelRef: string;
}

export interface Plan extends Omit<PlanFile, 'candidates'> {
  file: string;
  candidates: PlanCandidate[];
  /** Kernel model name or absolute path. */
  kernelRef: string;
}

/** `m7i.metal-24xl`, `m7i.metal-24xl smt=false`: a machine and its restrictions in a fixed order. */
export function machineLabel(m: PlanCandidate['machine']): string {
  const parts = [m.model];
  if (m.sockets !== undefined) parts.push(`sockets=${m.sockets}`);
  if (m.cores !== undefined) parts.push(`cores=${m.cores}`);
  if (m.smt !== undefined) parts.push(`smt=${m.smt}`);
  return parts.join(' ');
}

export function loadPlan(file: string, modelsDir: string = defaultModelsDir, maxEvents: number = DEFAULT_MAX_EVENTS): Plan {
  const source = loadYamlSource(file);
  // zod reports a union with no matching member as a whole ("one of the accepted
  // shapes"); naming the misspelt key is more useful, so the search's keys are checked first.
  const rawSearch = source.valueAt(['search']);
  if (rawSearch !== null && typeof rawSearch === 'object' && !Array.isArray(rawSearch)) {
    const keys = Object.keys(rawSearch);
    const unknown = keys.find((k) => k !== 'bursts' && k !== 'bisect');
    if (unknown !== undefined) {
      const { line, column } = source.locateKey(['search'], unknown);
      throw new InputError({ file, line, column, field: `search.${unknown}`, expected: 'one of the fields bursts, bisect', got: 'an unknown field' });
    }
    if (keys.length !== 1) throw source.error(['search'], 'either bursts or bisect', keys.length === 0 ? 'neither' : 'both');
  }
  const parsed = source.validate(planSchema);
  const baseDir = dirname(file);

  const bisect = 'bisect' in parsed.search ? parsed.search.bisect : undefined;
  if (bisect && bisect.low >= bisect.high) throw source.error(['search', 'bisect', 'low'], `a number below high (${bisect.high})`, String(bisect.low));
  if (bisect && bisect.high - bisect.low < bisect.step) {
    throw source.error(['search', 'bisect', 'step'], `a step no larger than high - low (${bisect.high - bisect.low})`, String(bisect.step));
  }
  if ('bursts' in parsed.search) {
    const b = parsed.search.bursts;
    const dup = b.findIndex((v, i) => b.indexOf(v) !== i);
    if (dup >= 0) throw source.error(['search', 'bursts', dup], 'each burst size once', `${b[dup]} again`);
  }

  const kernel = parsed.workload.kernel;
  let kernelRef = kernel;
  if (isBareModelName(kernel)) {
    const names = listKernelModels();
    if (!names.includes(kernel)) throw source.error(['workload', 'kernel'], `one of ${names.join(', ')} (or a path to a kernel model file)`, JSON.stringify(kernel));
  } else {
    kernelRef = resolve(baseDir, kernel);
    if (!existsSync(kernelRef)) throw source.error(['workload', 'kernel'], 'a kernel model name or an existing kernel model file', JSON.stringify(kernel));
  }
  // Read now, in the main thread: a broken kernel file is reported at its own line before any point runs.
  loadKernelModel(kernelRef);

  // The largest burst is the costliest point: refused before anything runs if its estimate is over the limit.
  const bursts = 'bursts' in parsed.search ? parsed.search.bursts : [parsed.search.bisect.high];
  const largest = Math.max(...bursts);
  const cost = estimatePointCost({ kind: 'launch', x: largest, params: parsed.workload as unknown as Record<string, unknown> } as Point, 1);
  if (cost.events > maxEvents) {
    const path = 'bursts' in parsed.search ? ['search', 'bursts', bursts.indexOf(largest)] : ['search', 'bisect', 'high'];
    throw source.error(path, `at most ${formatCount(maxEvents)} simulated events per point (--max-events N lifts it)`, `about ${formatCount(cost.events)} events and ${formatBytes(cost.bytes)} for a burst of ${largest}`);
  }

  const seen = new Map<string, number>();
  const candidates = parsed.candidates.map((c, i): PlanCandidate => {
    const written = typeof c === 'string' ? { model: c } : c;
    const { label: given, ...machine } = written as typeof written & { label?: string };
    const path: (string | number)[] = typeof c === 'string' ? ['candidates', i] : ['candidates', i, 'model'];
    const model = loadHardwareModel(machine.model, modelsDir, { source, path, baseDir });
    buildTopology(model, machine, (field, expected, got) => source.error(typeof c === 'string' ? ['candidates', i] : ['candidates', i, field], expected, got));
    const label = given ?? machineLabel(machine);
    const first = seen.get(label);
    if (first !== undefined) throw source.error(['candidates', i], `a candidate not given before (candidates[${first}] is the same)`, JSON.stringify(label));
    seen.set(label, i);
    return { label, machine, modelRef: isBareModelName(machine.model) ? machine.model : resolve(baseDir, machine.model) };
  });

  const { candidates: _c, ...rest } = parsed;
  return { ...rest, file, candidates, kernelRef };
}
