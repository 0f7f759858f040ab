// The charts of a run show the story: colour is the machine and dash the swept
// parameter, the health-check timeout is a line, a marker shows where threads
// exceed a machine's CPUs, figures are named, and a chart that carries no
// information is left out with a sentence saying why.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario } from '../src/config/scenarioSchema.ts';
import { resolvePoints } from '../src/config/points.ts';
import { buildRunResult, chartSpecs, figureName, loadModels, omittedChartNotes, runIdentity } from '../src/runner/runScenario.ts';
import type { RunResult } from '../src/report/results.ts';

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'locksim-charts-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A run of the scenario text with made-up metrics (the charts only read results). */
function fakeRun(name: string, yaml: string, metrics: (variant: string, x: number) => Record<string, number>): RunResult {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, yaml);
  const scenario = loadScenario(file);
  const points = resolvePoints(scenario);
  return buildRunResult(runIdentity(scenario, `${name}.yaml`, loadModels(points)), points, points.map((p) => metrics(p.variant, p.x)));
}

const launchYaml = (name: string) => `name: ${name}
kind: launch
variants:
  - label: r5
    machine: { model: r5.metal }
  - label: m7a
    machine: { model: m7a.24xlarge }
launch:
  containers: [10, 100]
  variant: per-layer-idmap
  layers: 5
  healthCheckTimeoutNs: 30000000000
sweep:
  launch.layers: [5, 50]
`;

type Layer = { mark: { type: string } | string; encoding?: Record<string, { field?: string; datum?: number; title?: string | null }>; data?: { values: { x: number; label: string }[] } };
const layersOf = (spec: unknown) => (spec as { layer: Layer[] }).layer;
const markType = (l: Layer) => (typeof l.mark === 'string' ? l.mark : l.mark.type);

describe('charts of a launch run', () => {
  const all = (success: number) => fakeRun(`fig3-t${success}`, launchYaml(`fig3-t${success}`), (_v, x) => ({ launchP50S: x / 100, launchP99S: x / 50, successRate: success }));

  it('colours by machine and dashes by the swept parameter, with legend titles', () => {
    const p99 = chartSpecs(all(1)).find((c) => c.name.endsWith('-p99'))!;
    const line = layersOf(p99.spec).find((l) => markType(l) === 'line')!;
    expect(line.encoding!.color.field).toBe('color');
    expect(line.encoding!.color.title).toBe('machine');
    expect(line.encoding!.strokeDash.field).toBe('dash');
    expect(line.encoding!.strokeDash.title).toBe('layers');
    const rows = (p99.spec as { data: { values: { variant: string; color: string; dash: string }[] } }).data.values;
    expect(new Set(rows.map((r) => r.color))).toEqual(new Set(['r5', 'm7a']));
    expect(new Set(rows.map((r) => r.dash))).toEqual(new Set(['layers=5', 'layers=50']));
  });

  it('draws the health-check timeout as a rule on the p99 chart and names the figure', () => {
    const p99 = chartSpecs(all(1)).find((c) => c.name.endsWith('-p99'))!;
    const rule = layersOf(p99.spec).find((l) => markType(l) === 'rule')!;
    expect(rule.encoding!.y.datum).toBeCloseTo(30);
    expect((p99.spec as { title: { text: string } }).title.text).toMatch(/^Fig 3: launch latency p99/);
  });

  it('draws the timeout on the linear latency chart only when the curves come near it', () => {
    const rules = (run: RunResult) => layersOf(chartSpecs(run).find((c) => c.name.endsWith('-latency'))!.spec).filter((l) => markType(l) === 'rule');
    // p99 up to 2 s (x / 50 at x = 100) against a 30 s timeout: no rule.
    expect(rules(all(1))).toHaveLength(0);
    const slow = fakeRun('fig3-slow', launchYaml('fig3-slow'), (_v, x) => ({ launchP50S: x / 5, launchP99S: x / 4, successRate: 1 }));
    expect(rules(slow)).toHaveLength(1);
  });

  it('leaves out a success chart that is 100% everywhere and says so; keeps it when a launch fails', () => {
    const ok = all(1);
    expect(chartSpecs(ok).map((c) => c.name)).not.toContain('fig3-t1-success');
    expect(omittedChartNotes(ok)).toEqual([expect.stringMatching(/^All launches succeeded/)]);
    const failing = all(0.5);
    expect(chartSpecs(failing).map((c) => c.name)).toContain('fig3-t0.5-success');
    expect(omittedChartNotes(failing)).toEqual([]);
  });
});

describe('charts of a lock microbenchmark', () => {
  it('marks where the threads exceed a variant\'s CPUs, only for variants whose curve crosses it', () => {
    const run = fakeRun(
      'fig10-t',
      `name: fig10-t
kind: lock-microbench
variants:
  - label: one socket
    machine: { model: r5.metal, sockets: 1 }
  - label: two sockets
    machine: { model: r5.metal }
microbench:
  threads: [8, 64]
  durationNs: 10000
`,
      (_v, x) => ({ acquisitionsPerSec: 1e6 / x, latencyMeanNs: x * 100 }),
    );
    for (const chart of chartSpecs(run)) {
      const markers = layersOf(chart.spec).filter((l) => l.data?.values);
      expect(markers.length).toBeGreaterThan(0);
      expect(markers[0].data!.values).toEqual([{ x: 48, label: 'one socket: 48 CPUs' }]);
    }
  });

  it('names figures from the scenario name', () => {
    expect(figureName('fig10-pause-bench')).toBe('Fig 10');
    expect(figureName('lock-kinds')).toBe('lock-kinds');
  });
});
