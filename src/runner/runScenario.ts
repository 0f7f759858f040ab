/**
 * scenario file -> validated config -> points -> simulation -> result files.
 * The one-way pipeline of docs/architecture.md, for one scenario file.
 */
import { basename } from 'node:path';
import { loadHardwareModel } from '../config/hardwareSchema.ts';
import { loadScenario, type Scenario } from '../config/scenarioSchema.ts';
import { resolvePoints, type Point } from '../config/points.ts';
import { writeOutputs, type OutputFile } from '../report/atomicWrite.ts';
import { resultFiles, type PointResult, type RunResult } from '../report/results.ts';
import { chartFiles, lineChartSpec } from '../report/charts.ts';
import { summaryTable } from '../report/summary.ts';
import { kinds } from './kinds.ts';
import { simulatePoints, type PoolOptions } from './pool.ts';

export interface RunOptions extends PoolOptions {
  outDir: string;
  charts?: boolean;
}

export interface ScenarioRun {
  run: RunResult;
  files: string[];
  summary: string;
}

export async function runScenarioFile(file: string, opts: RunOptions, edit?: (s: Scenario) => Scenario): Promise<ScenarioRun> {
  let scenario = loadScenario(file);
  if (edit) scenario = edit(scenario);
  return runScenario(scenario, basename(file), opts);
}

export async function runScenario(scenario: Scenario, fileLabel: string, opts: RunOptions): Promise<ScenarioRun> {
  const points = resolvePoints(scenario);
  const outputs = await simulatePoints(points, opts);
  const run = buildRunResult(scenario, fileLabel, points, outputs.map((o) => o.metrics));
  const files: OutputFile[] = resultFiles(run).map((f) => ({ ...f, name: f.name }));
  for (const o of outputs) files.push(...(o.artifacts ?? []));
  const kind = kinds[scenario.kind];
  if (opts.charts ?? scenario.output.charts) {
    for (const chart of kind.charts) {
      const spec = lineChartSpec({
        title: `${scenario.name}: ${chart.yLabel}`,
        points: run.points,
        xLabel: kind.xLabel,
        yMetric: chart.yMetric,
        yLabel: chart.yLabel,
        xScale: chart.xScale,
        yScale: chart.yScale,
        band: chart.band,
      });
      files.push(...(await chartFiles(`${scenario.name}-${chart.name}`, spec)));
    }
  }
  await writeOutputs(opts.outDir, files);
  return { run, files: files.map((f) => f.name), summary: summaryTable(run, kind.summary) };
}

export function buildRunResult(scenario: Scenario, fileLabel: string, points: Point[], metrics: Record<string, number>[]): RunResult {
  const models: Record<string, unknown> = {};
  for (const p of points) models[p.machine.model] ??= loadHardwareModel(p.machine.model);
  const pointResults: PointResult[] = points.map((p, i) => ({ variant: p.variant, x: p.x, key: p.key, seed: p.seed, metrics: metrics[i] }));
  return {
    scenario: { name: scenario.name, kind: scenario.kind, file: fileLabel, seed: scenario.seed, resolved: scenario },
    models,
    xLabel: kinds[scenario.kind].xLabel,
    points: pointResults,
    createdBy: 'locksim 0.1.0',
  };
}
