/**
 * What each kind of scenario simulates per point, and how its results are
 * charted and summarized. Adding a kind of experiment is adding an entry here.
 */
import { loadHardwareModel } from '../config/hardwareSchema.ts';
import type { Point } from '../config/points.ts';
import type { ScenarioKind } from '../config/scenarioSchema.ts';
import { buildTopology } from '../hardware/topology.ts';
import { machineSpecFromTopology } from '../hardware/machineSpec.ts';
import type { MachineSpec } from '../machine.ts';
import { runLockMicrobench, type MicrobenchParams } from '../bench/lockMicrobench.ts';
import { runPingpong } from '../bench/pingpong.ts';
import type { ScaleKind } from '../report/charts.ts';
import { profileFileName } from '../report/results.ts';
import { Machine } from '../machine.ts';
import { loadKernelModel } from '../workload/kernelModel.ts';
import { buildLaunchTrace, simulateLaunch } from '../workload/launch.ts';
import type { LaunchParams } from '../workload/launchParams.ts';
import { applyAblations, type PointModels } from '../config/ablations.ts';
import { atMachineClock } from '../workload/clock.ts';

export interface ChartDef {
  /** File name stem (scenario name is prefixed). */
  name: string;
  yMetric: string;
  yLabel: string;
  xScale?: ScaleKind;
  yScale?: ScaleKind;
  band?: { lo: string; hi: string };
  /**
   * Draw the scenario's health-check timeout as a horizontal rule (y in
   * seconds); on a linear scale only when the curves come within a third of
   * it (a rule far above would squash them).
   */
  timeoutRule?: boolean;
  /** Mark where the threads (x) exceed each variant's CPUs. */
  cpuMarkers?: boolean;
  /**
   * A chart whose every point has this value carries no information (a flat
   * line at 100% success): it is left out and this sentence is said instead.
   */
  omitWhenAll?: { value: number; sentence: string };
}

/** What simulating one point yields: its metrics, and files worth keeping (e.g. a profile). */
export interface PointOutput {
  metrics: Record<string, number>;
  artifacts?: { name: string; content: string }[];
}

export interface KindDef {
  xLabel: string;
  charts: ChartDef[];
  summary: string[];
  /** Model data besides the machine that the kind simulates with (what ablations may transform). */
  models?(point: Point): Omit<PointModels, 'machine'>;
  simulate(point: Point, models: PointModels): PointOutput;
}

export function machineSpecForPoint(point: Point): MachineSpec {
  const model = loadHardwareModel(point.machine.model);
  const { model: _m, ...restriction } = point.machine;
  const spec = machineSpecFromTopology(buildTopology(model, restriction));
  return point.detailed ? { ...spec, detailedSpinners: true } : spec;
}

export const kinds: Record<ScenarioKind, KindDef> = {
  'lock-microbench': {
    xLabel: 'threads',
    charts: [
      { name: 'latency', yMetric: 'latencyMeanNs', yLabel: 'mean acquisition latency (ns)', xScale: 'log', yScale: 'log', cpuMarkers: true },
      { name: 'throughput', yMetric: 'acquisitionsPerSec', yLabel: 'acquisitions per second', xScale: 'log', cpuMarkers: true },
    ],
    summary: ['acquisitionsPerSec', 'latencyMeanNs', 'latencyP99Ns'],
    simulate(point, { machine: spec }) {
      const params = { ...(point.params as unknown as MicrobenchParams), threads: point.x };
      const r = runLockMicrobench(spec, params, point.seed);
      return { metrics: { ...r } };
    },
  },
  pingpong: {
    xLabel: 'partner cpu',
    charts: [{ name: 'latency', yMetric: 'oneWayMedianNs', yLabel: 'one-way latency, median (ns)' }],
    summary: ['oneWayMedianNs'],
    simulate(point, { machine: spec }) {
      const p = point.params as { from: number; roundTrips: number };
      const r = runPingpong(spec, { from: p.from, to: point.x, roundTrips: p.roundTrips }, point.seed);
      return { metrics: { ...r } };
    },
  },
  launch: {
    xLabel: 'containers',
    charts: [
      { name: 'latency', yMetric: 'launchP50S', yLabel: 'launch latency p50 (s), band p50-p99', band: { lo: 'launchP50S', hi: 'launchP99S' }, timeoutRule: true },
      // Log scale: the curves and the health-check timeout (tens of seconds) in one view.
      { name: 'p99', yMetric: 'launchP99S', yLabel: 'launch latency p99 (s)', yScale: 'log', timeoutRule: true },
      {
        name: 'success',
        yMetric: 'successRate',
        yLabel: 'share launched within the health-check timeout',
        omitWhenAll: { value: 1, sentence: 'All launches succeeded (every container started within the health-check timeout), so there is no success-rate chart.' },
      },
    ],
    summary: ['launchP50S', 'launchP99S', 'successRate', 'mountOps'],
    models(point) {
      const launch = point.params as unknown as LaunchParams;
      return { launch, kernel: loadKernelModel(launch.kernel) };
    },
    simulate(point, models) {
      const spec = models.machine;
      const { kernel, launch: params } = atMachineClock(models.kernel!, models.launch!, spec.ghz);
      const machine = new Machine(spec, { seed: point.seed, placement: 'spread' });
      const trace = buildLaunchTrace(params, point.x, kernel, point.seed);
      const r = simulateLaunch(machine, kernel, params, trace);
      return { metrics: r.metrics, artifacts: [{ name: profileFileName(point.key), content: r.folded }] };
    },
  },
};

/** The point's model data with its ablations applied (the one place they are applied). */
export function modelsForPoint(point: Point): PointModels {
  const kind = kinds[point.kind];
  return applyAblations(point.ablate ?? [], { machine: machineSpecForPoint(point), ...kind.models?.(point) });
}

/** Simulate one point (in this thread or a worker). */
export function simulatePoint(point: Point): PointOutput {
  return kinds[point.kind].simulate(point, modelsForPoint(point));
}
