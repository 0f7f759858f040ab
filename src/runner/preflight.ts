/**
 * Checks a run makes in the main thread before it simulates anything (issue
 * 11), each refusal located in the scenario file the user wrote:
 *
 * - the kernel model each launch point names exists and is valid (it used to
 *   fail inside a worker, as an uncaught exception);
 * - every output file name fits in a file name (NAME_MAX, 255 bytes, with the
 *   temporary name's suffix): a long label used to fail after the whole
 *   simulation with ENAMETOOLONG;
 * - the number of points and each point's estimated events and memory are
 *   within the limits (`--max-points`, `--max-events`; src/config/budget.ts).
 *
 * (More threads than cpus are time-sliced; a microbenchmark point where some
 * thread never got a cpu reports its latency as undefined, null in results:
 * src/bench/lockMicrobench.ts.)
 */
import { isAbsolute, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { InputError } from '../config/errors.ts';
import { kindSection, type Scenario } from '../config/scenarioSchema.ts';
import type { YamlSource } from '../config/yamlLoad.ts';
import { resolvePoints, type Point } from '../config/points.ts';
import { loadHardwareModel } from '../config/hardwareSchema.ts';
import { buildTopology } from '../hardware/topology.ts';
import { DEFAULT_MAX_EVENTS, DEFAULT_MAX_POINTS, estimatePointCost, formatBytes, formatCount, heapLimitBytes } from '../config/budget.ts';
import { loadKernelModel, missingForkCostError, missingSyscallError } from '../workload/kernelModel.ts';
import { kinds } from './kinds.ts';
import { profileFileName } from '../report/results.ts';

export interface RunLimits {
  /** Most simulated events one point may be estimated to need (`--max-events`). */
  maxEvents?: number;
  /** Most points one run may have (`--max-points`). */
  maxPoints?: number;
}

/** NAME_MAX of Linux filesystems (ext4, xfs, tmpfs), bytes. */
const NAME_MAX = 255;
/** What atomicWrite adds to a name for its temporary file: `.NAME.PID.8HEX.tmp` (pid up to 7 digits). */
const TEMP_SUFFIX_BYTES = 1 + 1 + 7 + 1 + 8 + 4;

/** Runs every check; returns the points so the caller need not resolve them again. */
export function preflight(scenario: Scenario, source: YamlSource, limits: RunLimits = {}): Point[] {
  const { section, xField } = kindSection[scenario.kind];
  // Counted before the points are made: making a million points is itself slow.
  const xs = ((scenario as unknown as Record<string, Record<string, unknown[]>>)[section]![xField] ?? []).length;
  const variants = scenario.variants.length * Object.values(scenario.sweep ?? {}).reduce((n, values) => n * values.length, 1);
  const maxPoints = limits.maxPoints ?? DEFAULT_MAX_POINTS;
  if (variants * xs > maxPoints) {
    throw source.error(scenario.sweep ? ['sweep'] : [section, xField], `at most ${maxPoints} points (--max-points N lifts it)`, `${variants * xs} (${variants} variants after the sweep x ${xs} ${xField} values)`);
  }
  const points = resolvePoints(scenario);
  if (scenario.kind === 'launch') checkKernels(scenario, source, points);
  checkOutputNames(scenario, source, points);
  checkCosts(scenario, source, points, limits.maxEvents ?? DEFAULT_MAX_EVENTS);
  return points;
}

/** Where a point's parameter came from: its sweep entry when a sweep set it, else the section's field. */
function paramPath(scenario: Scenario, point: Point, field: string): (string | number)[] {
  const { section } = kindSection[scenario.kind];
  const key = `${section}.${field}`;
  const values = scenario.sweep?.[key];
  if (values && key in point.sweep) return ['sweep', key, values.indexOf(point.sweep[key]!)];
  return [section, field];
}

function xPath(scenario: Scenario, point: Point): (string | number)[] {
  const { section, xField } = kindSection[scenario.kind];
  const xs = (scenario as unknown as Record<string, Record<string, number[]>>)[section]![xField]!;
  return [section, xField, xs.indexOf(point.x)];
}

function checkKernels(scenario: Scenario, source: YamlSource, points: Point[]): void {
  const seen = new Set<string>();
  for (const p of points) {
    const name = String(p.params.kernel);
    const key = `${name}\n${p.params.unmountInspection === true}\n${p.params.processPerContainer === true}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const path = paramPath(scenario, p, 'kernel');
    const bare = !name.includes('/') && !name.includes('\\') && !name.endsWith('.yaml');
    if (!bare && !existsSync(isAbsolute(name) ? name : resolve(name))) {
      throw source.error(path, 'a kernel model name (models/kernel) or an existing kernel model file', JSON.stringify(name));
    }
    try {
      const kernel = loadKernelModel(name);
      if (p.params.processPerContainer === true) {
        const missing = missingForkCostError(kernel);
        if (missing) throw source.error(paramPath(scenario, p, 'processPerContainer'), missing.expected, missing.got);
      }
      if (p.params.unmountInspection === true) {
        const missing = missingSyscallError(kernel, 'umount_overlay', 'launch.unmountInspection unmounts each inspection overlay');
        if (missing) throw source.error(paramPath(scenario, p, 'unmountInspection'), missing.expected, missing.got);
      }
    } catch (e) {
      // An unknown name is the scenario's mistake; an error inside an existing
      // kernel file is located in that file, which the user wrote too.
      if (e instanceof InputError && e.file === name && e.line === 1) throw source.error(path, e.expected, e.got);
      throw e;
    }
  }
}

function checkOutputNames(scenario: Scenario, source: YamlSource, points: Point[]): void {
  const limit = NAME_MAX - TEMP_SUFFIX_BYTES;
  const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
  // Chart files, and attribute's `NAME-attribution.vl.json`.
  const longestChart = Math.max(bytes(`${scenario.name}-attribution.vl.json`), ...kinds[scenario.kind].charts.map((c) => bytes(`${scenario.name}-${c.name}.vl.json`)));
  if (longestChart > limit) throw source.error(['name'], `a name of at most ${scenario.name.length - (longestChart - limit)} characters (it names chart files, at most ${NAME_MAX} bytes each)`, `${bytes(scenario.name)} bytes`);
  if (scenario.kind !== 'launch') return;
  for (const p of points) {
    const name = profileFileName(p.key);
    if (bytes(name) > limit) {
      const i = scenario.variants.findIndex((v) => p.variant === v.label || p.variant.startsWith(`${v.label}, `));
      throw source.error(['variants', Math.max(0, i), 'label'], `a label at most ${limit} bytes long together with its sweep values and x (it names the file ${name.slice(0, 30)}...)`, `${bytes(name)} bytes`);
    }
  }
}

function checkCosts(scenario: Scenario, source: YamlSource, points: Point[], maxEvents: number): void {
  const heap = heapLimitBytes();
  const cpusOf = new Map<string, number>();
  for (const p of points) {
    const machineKey = JSON.stringify(p.machine);
    let cpus = cpusOf.get(machineKey);
    if (cpus === undefined) {
      const { model, ...restriction } = p.machine;
      cpus = buildTopology(loadHardwareModel(model), restriction).cpus.length;
      cpusOf.set(machineKey, cpus);
    }
    const cost = estimatePointCost(p, cpus);
    const where = `${p.variant}, ${p.xName} ${p.x}`;
    if (cost.events > maxEvents) {
      throw source.error(xPath(scenario, p), `at most ${formatCount(maxEvents)} simulated events per point (--max-events N lifts it)`, `about ${formatCount(cost.events)} events and ${formatBytes(cost.bytes)} for ${where}`);
    }
    if (cost.bytes > heap) {
      throw source.error(xPath(scenario, p), `a point that fits in this process's ${formatBytes(heap)} heap (NODE_OPTIONS=--max-old-space-size=MB raises it)`, `about ${formatBytes(cost.bytes)} for ${where}`);
    }
  }
}
