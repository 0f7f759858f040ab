/**
 * scenario file -> validated config -> points -> simulation -> result files.
 * The one-way pipeline of docs/architecture.md, for one scenario file.
 *
 * Finished points go to a checkpoint in the output directory as they finish
 * (src/runner/checkpoint.ts), so an interrupted run resumes where it stopped;
 * a shard run (src/runner/shard.ts) simulates every n-th point and writes a
 * shard file instead of result files.
 */
import { createHash } from 'node:crypto';
import { basename, join } from 'node:path';
import { loadHardwareModel } from '../config/hardwareSchema.ts';
import { loadScenarioSource, type Scenario, type SweepValues } from '../config/scenarioSchema.ts';
import { preflight, type RunLimits } from './preflight.ts';
import { resolvePoints, type Point } from '../config/points.ts';
import { writeOutputs, type OutputFile } from '../report/atomicWrite.ts';
import { canonicalize, resultFiles, type PointResult, type RunResult } from '../report/results.ts';
import { chartFilesOf, lineChartSpec } from '../report/charts.ts';
import type { TopLevelSpec } from 'vega-lite';
import { summaryTable } from '../report/summary.ts';
import { formatSeconds } from '../report/units.ts';
import { kinds, type ChartDef, type PointOutput } from './kinds.ts';
import { expandVariants } from '../config/points.ts';
import { buildTopology } from '../hardware/topology.ts';
import type { HardwareModel } from '../config/hardwareSchema.ts';
import { InterruptedError, openPointPool, simulatePoints, type PoolOptions } from './pool.ts';
import { Checkpoint } from './checkpoint.ts';
import { removeStaleTemps } from '../host/staleTemps.ts';
import { checkOutputDir, manifestFile, readManifest, refuseFileAsOutDir, removeStaleFiles } from '../report/manifest.ts';
import type { YamlSource } from '../config/yamlLoad.ts';
import { shardFile, shardIndices, formatShard, type ShardSpec } from './shard.ts';

export interface RunOptions extends PoolOptions {
  outDir: string;
  charts?: boolean;
  /** Simulate only this shard's points and write a shard file (see shard.ts). */
  shard?: ShardSpec;
  /** Discard a checkpoint left in outDir instead of resuming from it. */
  fresh?: boolean;
  /** Write into outDir even when it holds files that are not an earlier run of this scenario. */
  force?: boolean;
  /** Resource limits checked before simulating (--max-events, --max-points). */
  limits?: RunLimits;
  /** Called once before simulating: points of this run, and how many of them the checkpoint already had. */
  onStart?: (total: number, resumed: number) => void;
}

export interface ScenarioRun {
  run: RunResult;
  files: string[];
  summary: string;
  /** Points taken from a checkpoint rather than simulated now. */
  resumed: number;
}

export interface ShardRun {
  file: string;
  points: number;
  resumed: number;
}

/** What a run's results depend on besides its points: the part of results.json that is not `points`. */
export type RunIdentity = Omit<RunResult, 'points'>;

/** Loads a scenario and runs every check before simulation (preflight.ts): an error here leaves nothing written. */
export function loadScenarioFile(file: string, edit?: (s: Scenario) => Scenario, cliSweep?: SweepValues, limits?: RunLimits): Scenario {
  return loadCheckedScenario(file, edit, cliSweep, limits).scenario;
}

/** loadScenarioFile with the parsed file kept, for errors located in it after the checks. */
function loadCheckedScenario(file: string, edit?: (s: Scenario) => Scenario, cliSweep?: SweepValues, limits?: RunLimits): { scenario: Scenario; source: YamlSource } {
  const { scenario, source } = loadScenarioSource(file, undefined, cliSweep);
  preflight(scenario, source, limits);
  return { scenario: edit ? edit(scenario) : scenario, source };
}

export async function runScenarioFile(file: string, opts: RunOptions, edit?: (s: Scenario) => Scenario, cliSweep?: SweepValues): Promise<ScenarioRun> {
  return runScenario(loadScenarioFile(file, edit, cliSweep, opts.limits), basename(file), opts);
}

/**
 * Several scenario files in one command (e.g. the blog's figures): each
 * writes to `opts.outDir`/<its name>, exactly what a run of it alone would
 * write there. Every file is validated, and every output directory checked,
 * before any point is simulated, so bad input leaves nothing written. With
 * workers, one pool serves every scenario: its threads load and compile the
 * simulator once, not once per scenario.
 */
export async function runScenarioFiles(
  files: string[],
  opts: RunOptions & { onScenario?: (index: number, count: number, name: string) => void },
  edit?: (s: Scenario) => Scenario,
  cliSweep?: SweepValues,
): Promise<{ name: string; outDir: string; result: ScenarioRun; seconds: number }[]> {
  const scenarios = files.map((file) => ({ file, ...loadCheckedScenario(file, edit, cliSweep, opts.limits) }));
  refuseFileAsOutDir(opts.outDir, 'a directory to hold a folder per scenario (or a path to create one)');
  const seen = new Map<string, string>();
  for (const { file, source, scenario } of scenarios) {
    const other = seen.get(scenario.name);
    if (other !== undefined) throw source.error(['name'], 'a scenario name no other file of this run has (each writes to --out/<name>)', `${JSON.stringify(scenario.name)}, the name in ${other} too`);
    seen.set(scenario.name, file);
    checkOutputDir(join(opts.outDir, scenario.name), scenario.name, opts.force);
  }
  const pool = opts.pool ?? (opts.workers > 1 ? await openPointPool(opts.workers) : undefined);
  try {
    const runs = [];
    for (const [i, { file, scenario }] of scenarios.entries()) {
      opts.onScenario?.(i, scenarios.length, scenario.name);
      const outDir = join(opts.outDir, scenario.name);
      const started = Date.now();
      const result = await runScenario(scenario, basename(file), { ...opts, outDir, pool });
      runs.push({ name: scenario.name, outDir, result, seconds: (Date.now() - started) / 1000 });
    }
    return runs;
  } finally {
    if (pool && !opts.pool) await pool.close();
  }
}

export async function runShardFile(file: string, opts: RunOptions & { shard: ShardSpec }, edit?: (s: Scenario) => Scenario, cliSweep?: SweepValues): Promise<ShardRun> {
  return runShard(loadScenarioFile(file, edit, cliSweep, opts.limits), basename(file), opts);
}

export async function runScenario(scenario: Scenario, fileLabel: string, opts: RunOptions): Promise<ScenarioRun> {
  checkOutputDir(opts.outDir, scenario.name, opts.force);
  removeStaleTemps(opts.outDir);
  const points = resolvePoints(scenario);
  const identity = runIdentity(scenario, fileLabel, loadModels(points));
  const all = points.map((_, i) => i);
  const { checkpoint, resumed } = await simulateWithCheckpoint(points, all, { scenarioHash: runHash(identity), shard: null }, opts);
  const outputs = all.map((i) => checkpoint.done.get(i)!);
  const result = await writeRunOutputs(identity, scenario, points, outputs, opts.outDir, opts.charts ?? scenario.output.charts);
  // Only once the result files are in place: a crash before this keeps every point.
  checkpoint.remove();
  return { ...result, resumed };
}

/** Simulates the points of one shard and writes `shard-I-of-N.json` to the output directory. */
export async function runShard(scenario: Scenario, fileLabel: string, opts: RunOptions & { shard: ShardSpec }): Promise<ShardRun> {
  checkOutputDir(opts.outDir, scenario.name, opts.force);
  removeStaleTemps(opts.outDir);
  const points = resolvePoints(scenario);
  const identity = runIdentity(scenario, fileLabel, loadModels(points));
  const hash = runHash(identity);
  const selected = shardIndices(points.length, opts.shard);
  const { checkpoint, resumed } = await simulateWithCheckpoint(points, selected, { scenarioHash: hash, shard: formatShard(opts.shard) }, opts);
  const file = shardFile(opts.shard, { scenarioHash: hash, identity, scenario, points, selected, outputs: checkpoint.done });
  await writeOutputs(opts.outDir, [file]);
  checkpoint.remove();
  return { file: file.name, points: selected.length, resumed };
}

async function simulateWithCheckpoint(
  points: Point[],
  selected: number[],
  header: { scenarioHash: string; shard: string | null },
  opts: RunOptions,
): Promise<{ checkpoint: Checkpoint; resumed: number }> {
  const checkpoint = Checkpoint.open(opts.outDir, header, points, { fresh: opts.fresh });
  const todo = selected.filter((i) => !checkpoint.done.has(i));
  const resumed = selected.length - todo.length;
  opts.onStart?.(selected.length, resumed);
  try {
    await simulatePoints(
      todo.map((i) => points[i]!),
      {
        workers: opts.workers,
        signal: opts.signal,
        pool: opts.pool,
        onResult: (j, output) => checkpoint.append(todo[j]!, points[todo[j]!]!, output),
        onPoint: (done, _total, point) => opts.onPoint?.(resumed + done, selected.length, point),
      },
    );
  } catch (err) {
    checkpoint.close();
    if (err instanceof InterruptedError) throw new InterruptedError(resumed + err.done, selected.length, err.reason, checkpoint.path);
    throw err;
  }
  return { checkpoint, resumed };
}

/** Hardware models used by the points, as validated, by name. */
export function loadModels(points: Point[]): Record<string, unknown> {
  const models: Record<string, unknown> = {};
  for (const p of points) models[p.machine.model] ??= loadHardwareModel(p.machine.model);
  return models;
}

export function runIdentity(scenario: Scenario, fileLabel: string, models: Record<string, unknown>): RunIdentity {
  return {
    scenario: { name: scenario.name, kind: scenario.kind, file: fileLabel, seed: scenario.seed, resolved: scenario },
    models,
    xLabel: kinds[scenario.kind].xLabel,
    createdBy: 'locksim 0.1.0',
  };
}

/**
 * sha256 of the run's identity in results.json's canonical form: equal hashes
 * mean equal scenario (after --seed), scenario file name, hardware models and
 * program version, hence equal points and seeds.
 */
export function runHash(identity: RunIdentity): string {
  return createHash('sha256').update(JSON.stringify(canonicalize(identity))).digest('hex');
}

/** The vega-lite specs of a run's charts (one per chart of its kind that carries information), by file stem. */
export function chartSpecs(run: RunResult): { name: string; spec: TopLevelSpec }[] {
  const kind = kinds[run.scenario.kind as keyof typeof kinds];
  if (!kind) return [];
  const looks = chartLooks(run);
  return kind.charts
    .filter((chart) => !chartOmitted(run, chart))
    .map((chart) => ({
      name: `${run.scenario.name}-${chart.name}`,
      spec: lineChartSpec({
        title: `${figureName(run.scenario.name)}: ${chart.yLabel} by ${kind.xLabel}`,
        subtitle: looks.subtitle,
        points: run.points,
        xLabel: kind.xLabel,
        yMetric: chart.yMetric,
        yLabel: chart.yLabel,
        xScale: chart.xScale,
        yScale: chart.yScale,
        band: chart.band,
        series: looks.series,
        colorTitle: looks.colorTitle,
        dashTitle: looks.dashTitle,
        yRules: chart.timeoutRule && looks.timeoutS !== undefined && timeoutInView(run, chart, looks.timeoutS) ? [{ value: looks.timeoutS, label: `health-check timeout ${formatSeconds(looks.timeoutS)}` }] : [],
        xMarkers: chart.cpuMarkers ? looks.cpuMarkers(run.points) : [],
      }),
    }));
}

/** The metrics a run's kind shows first (its summary columns). */
export function keyMetricsOf(run: RunResult): string[] {
  return kinds[run.scenario.kind as keyof typeof kinds]?.summary ?? [];
}

/** The sentences said instead of the charts left out for carrying no information. */
export function omittedChartNotes(run: RunResult): string[] {
  const kind = kinds[run.scenario.kind as keyof typeof kinds];
  return kind ? kind.charts.filter((c) => chartOmitted(run, c)).map((c) => c.omitWhenAll!.sentence) : [];
}

function chartOmitted(run: RunResult, chart: ChartDef): boolean {
  if (!chart.omitWhenAll) return false;
  const values = run.points.map((p) => p.metrics[chart.yMetric]).filter((v) => v !== undefined);
  return values.length > 0 && values.every((v) => v === chart.omitWhenAll!.value);
}

/** A log axis shows the timeout whatever the data; a linear one only when the curves reach a third of it. */
function timeoutInView(run: RunResult, chart: ChartDef, timeoutS: number): boolean {
  if (chart.yScale === 'log') return true;
  const metrics = [chart.yMetric, ...(chart.band ? [chart.band.lo, chart.band.hi] : [])];
  const top = Math.max(0, ...run.points.flatMap((p) => metrics.map((m) => p.metrics[m]).filter((v): v is number => Number.isFinite(v))));
  return top >= timeoutS / 3;
}

/** "fig3-instance-types" -> "Fig 3"; any other scenario keeps its name. */
export function figureName(scenario: string): string {
  const m = /^fig(\d+[a-z]?)\b/i.exec(scenario);
  return m ? `Fig ${m[1]}` : scenario;
}

/**
 * How a run's curves look: colour per machine variant, dash per sweep value,
 * the health-check timeout, and each variant's CPU count (where threads start
 * to exceed the CPUs, lock holders get preempted and spinners burn their
 * slices). All from results.json: the resolved scenario and the models.
 */
function chartLooks(run: RunResult) {
  const scenario = run.scenario.resolved as Scenario;
  const series: Record<string, { color: string; dash?: string }> = {};
  const cpus = new Map<string, number>();
  let sweepKeys: string[] = [];
  try {
    const variants = expandVariants(scenario);
    sweepKeys = Object.keys(scenario.sweep ?? {});
    const machineSwept = sweepKeys.some((k) => k.startsWith('machine.'));
    for (const [i, v] of variants.entries()) {
      const base = scenario.variants[Math.floor(i / Math.max(1, variants.length / scenario.variants.length))]?.label ?? v.label;
      const paramSweep = Object.entries(v.sweep).map(([k, value]) => `${k.split('.').pop()}=${String(value)}`).join(', ');
      // A swept machine restriction changes the machine, so it is a colour of its own.
      series[v.label] = machineSwept ? { color: v.label } : { color: base, dash: paramSweep || undefined };
      const model = run.models[v.machine.model] as HardwareModel | undefined;
      if (model) {
        const { model: _m, ...restriction } = v.machine;
        cpus.set(v.label, buildTopology(model, restriction).cpus.length);
      }
    }
  } catch {
    // A results file from an older version: plain colours, no markers.
  }
  const dashKeys = Object.values(series).some((s) => s.dash) ? sweepKeys.filter((k) => !k.startsWith('machine.')) : [];
  const timeoutNs = (scenario as { launch?: { healthCheckTimeoutNs?: number } }).launch?.healthCheckTimeoutNs;
  return {
    series,
    colorTitle: 'machine',
    dashTitle: dashKeys.length > 0 ? dashKeys.map((k) => k.split('.').pop()).join(', ') : undefined,
    subtitle: dashKeys.length > 0 ? `colour: machine; dash: ${dashKeys.join(', ')}` : undefined,
    timeoutS: timeoutNs === undefined ? undefined : timeoutNs * 1e-9,
    cpuMarkers: (points: PointResult[]) => {
      const out: { x: number; variant: string; label: string }[] = [];
      for (const [variant, n] of cpus) {
        const xs = points.filter((p) => p.variant === variant).map((p) => p.x);
        // Only where the curve goes past its CPUs; a marker off the chart says nothing.
        if (xs.length > 0 && Math.max(...xs) > n && Math.min(...xs) <= n) out.push({ x: n, variant, label: `${variant}: ${n} CPUs` });
      }
      return out;
    },
  };
}

/** Writes the result files of a whole run (a single run, or merged shards): results, artifacts, charts. */
export async function writeRunOutputs(
  identity: RunIdentity,
  scenario: Scenario,
  points: Point[],
  outputs: PointOutput[],
  outDir: string,
  charts: boolean,
): Promise<Omit<ScenarioRun, 'resumed'>> {
  const run = buildRunResult(identity, points, outputs.map((o) => o.metrics));
  const files: OutputFile[] = resultFiles(run);
  for (const o of outputs) files.push(...(o.artifacts ?? []));
  if (charts) files.push(...(await chartFilesOf(chartSpecs(run))));
  // The manifest goes in the same atomic batch: report reads only the files it lists.
  const previous = readManifest(outDir);
  files.push(manifestFile(scenario.name, files.map((f) => f.name)));
  await writeOutputs(outDir, files);
  removeStaleFiles(outDir, previous?.scenario === scenario.name ? previous : undefined, files.map((f) => f.name));
  return { run, files: files.map((f) => f.name), summary: summaryTable(run, kinds[scenario.kind].summary) };
}

export function buildRunResult(identity: RunIdentity, points: Point[], metrics: Record<string, number>[]): RunResult {
  const pointResults: PointResult[] = points.map((p, i) => ({ variant: p.variant, x: p.x, key: p.key, seed: p.seed, metrics: metrics[i]! }));
  return { ...identity, points: pointResults };
}
