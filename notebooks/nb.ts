/**
 * Small conveniences for the teaching notebooks (run by the Deno Jupyter
 * kernel): build a machine from a model file, and show a vega-lite chart.
 *
 * Charts are displayed as one bundle with two renderings: the vega-lite spec
 * (JupyterLab and VS Code draw it, with tooltips) and the same chart as SVG,
 * rendered headlessly by src/report/charts.ts, for viewers that do not run
 * vega-lite (GitHub, nbconvert's HTML, a plain text editor's preview).
 */
import type { TopLevelSpec } from 'vega-lite';
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { buildTopology, describeTopology, type Restriction, type Topology } from '../src/hardware/topology.ts';
import { machineSpecFromTopology } from '../src/hardware/machineSpec.ts';
import type { MachineSpec } from '../src/machine.ts';
import { lineChartSpec, renderSvg, type LineChartOptions } from '../src/report/charts.ts';
import type { PointResult } from '../src/report/results.ts';

/** A model file of models/hardware by name, with a scenario-style restriction. */
export function topology(model: string, restriction: Restriction = {}): Topology {
  return buildTopology(loadHardwareModel(model), restriction);
}

/** The plain numbers the simulator runs on, for a model name and a restriction. */
export function machine(model: string, restriction: Restriction = {}): MachineSpec {
  return machineSpecFromTopology(topology(model, restriction));
}

/** One line saying what the machine is, e.g. "r5.metal: 2 sockets, 48 cores, 96 cpus (SMT on), ...". */
export function describe(model: string, restriction: Restriction = {}): string {
  return describeTopology(topology(model, restriction));
}

/** A row of a line chart: which curve, its x, and any metrics. */
export interface Row {
  variant: string;
  x: number;
  [metric: string]: number | string;
}

/** Rows as the PointResults lineChartSpec draws (only numeric fields become metrics). */
export function points(rows: Row[]): PointResult[] {
  return rows.map(({ variant, x, ...rest }) => ({
    variant,
    x,
    seed: '',
    metrics: Object.fromEntries(Object.entries(rest).filter((e): e is [string, number] => typeof e[1] === 'number')),
  }));
}

/** The repository's line chart (the one `locksim run` draws), from rows. */
export function lineChart(rows: Row[], options: Omit<LineChartOptions, 'points'>): TopLevelSpec {
  return lineChartSpec({ width: 520, height: 300, ...options, points: points(rows) });
}

// Jupyter front ends ship a vega-lite v5 renderer under this MIME type; the
// specs here use nothing v6 added, so they are announced as v5 for them.
const VEGALITE_MIME = 'application/vnd.vegalite.v5+json';
const VEGALITE_V5_SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

interface DenoJupyter {
  jupyter: { display(bundle: Record<string, unknown>, options: { raw: boolean }): Promise<void> };
}

/** Deno.jupyter when running in the Deno kernel, else null. */
function jupyter(): DenoJupyter['jupyter'] | null {
  return (globalThis as unknown as { Deno?: DenoJupyter }).Deno?.jupyter ?? null;
}

/** Displays a chart in the notebook: vega-lite for live front ends, SVG for static viewers. */
export async function show(spec: TopLevelSpec): Promise<void> {
  const svg = await renderSvg(spec);
  const title = typeof spec.title === 'string' ? spec.title : 'chart';
  const j = jupyter();
  if (!j) {
    // Outside a notebook (e.g. `deno run`), say what would have been drawn.
    console.log(`[chart: ${title}, ${svg.length} bytes of SVG]`);
    return;
  }
  await j.display({ [VEGALITE_MIME]: { ...spec, $schema: VEGALITE_V5_SCHEMA }, 'image/svg+xml': svg, 'text/plain': `[chart: ${title}]` }, { raw: true });
}

function inspect(x: unknown): string {
  const deno = (globalThis as unknown as { Deno?: { inspect?(v: unknown, o?: object): string } }).Deno;
  return deno?.inspect ? deno.inspect(x, { colors: false }) : String(x);
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Shows rows of objects as a table: HTML for notebook viewers, aligned text otherwise. */
export async function table(rows: Record<string, unknown>[]): Promise<void> {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => (v === undefined ? '' : typeof v === 'number' ? String(round(v)) : typeof v === 'string' ? v : inspect(v));
  const cells = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  const text = [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
  const j = jupyter();
  if (!j) {
    console.log(text);
    return;
  }
  const numeric = columns.map((c) => rows.every((r) => r[c] === undefined || typeof r[c] === 'number'));
  const td = (v: string, i: number, tag: string) => `<${tag} style="text-align:${numeric[i] ? 'right' : 'left'}">${escapeHtml(v)}</${tag}>`;
  const html = `<table><thead><tr>${columns.map((c, i) => td(c, i, 'th')).join('')}</tr></thead><tbody>` +
    cells.map((r) => `<tr>${r.map((v, i) => td(v, i, 'td')).join('')}</tr>`).join('') + '</tbody></table>';
  await j.display({ 'text/html': html, 'text/plain': text }, { raw: true });
}

/** Rounds for printing: `digits` significant digits. */
export function round(x: number, digits = 3): number {
  return Number.isFinite(x) && x !== 0 ? Number(x.toPrecision(digits)) : x;
}
