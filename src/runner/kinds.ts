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

export interface ChartDef {
  /** File name stem (scenario name is prefixed). */
  name: string;
  yMetric: string;
  yLabel: string;
  xScale?: ScaleKind;
  yScale?: ScaleKind;
  band?: { lo: string; hi: string };
}

export interface KindDef {
  xLabel: string;
  charts: ChartDef[];
  summary: string[];
  simulate(point: Point, spec: MachineSpec): Record<string, number>;
}

export function machineSpecForPoint(point: Point): MachineSpec {
  const model = loadHardwareModel(point.machine.model);
  const { model: _m, ...restriction } = point.machine;
  return machineSpecFromTopology(buildTopology(model, restriction));
}

export const kinds: Record<ScenarioKind, KindDef> = {
  'lock-microbench': {
    xLabel: 'threads',
    charts: [
      { name: 'latency', yMetric: 'latencyMeanNs', yLabel: 'mean acquisition latency (ns)', xScale: 'log', yScale: 'log' },
      { name: 'throughput', yMetric: 'acquisitionsPerSec', yLabel: 'acquisitions per second', xScale: 'log' },
    ],
    summary: ['acquisitionsPerSec', 'latencyMeanNs', 'latencyP99Ns'],
    simulate(point, spec) {
      const params = { ...(point.params as unknown as MicrobenchParams), threads: point.x };
      const r = runLockMicrobench(spec, params, point.seed);
      return { ...r };
    },
  },
  pingpong: {
    xLabel: 'partner cpu',
    charts: [{ name: 'latency', yMetric: 'oneWayMedianNs', yLabel: 'one-way latency, median (ns)' }],
    summary: ['oneWayMedianNs'],
    simulate(point, spec) {
      const p = point.params as { from: number; roundTrips: number };
      const r = runPingpong(spec, { from: p.from, to: point.x, roundTrips: p.roundTrips }, point.seed);
      return { ...r };
    },
  },
  launch: {
    xLabel: 'containers',
    charts: [],
    summary: [],
    simulate() {
      throw new Error('launch scenarios are not implemented yet');
    },
  },
};

/** Simulate one point (in this thread or a worker). */
export function simulatePoint(point: Point): Record<string, number> {
  return kinds[point.kind].simulate(point, machineSpecForPoint(point));
}
