// Charts: a vega-lite spec per chart (written as NAME.vl.json so anyone can
// restyle it in the vega editor), rendered headlessly to SVG by vega and
// rasterised to PNG by resvg. No browser and no node-canvas are involved, so
// the output depends only on the input and the bundled DejaVu fonts.

import type { TopLevelSpec } from 'vega-lite';
import type { ResvgRenderOptions } from '@resvg/resvg-js';
import { createRequire } from 'node:module';
import { existsSync, readdirSync } from 'node:fs';
import { canonicalize, type PointResult } from './results.ts';
import { chartLibraries } from './chartLibraries.ts';
import type { OutputFile } from './atomicWrite.ts';

export type ScaleKind = 'linear' | 'log';

export interface LineChartOptions {
  title: string;
  points: PointResult[];
  /** Axis title for x, e.g. "threads". */
  xLabel: string;
  /** Metric drawn as the line, e.g. "latencyP50Ns". */
  yMetric: string;
  yLabel: string;
  xScale?: ScaleKind;
  yScale?: ScaleKind;
  /** Metric names of a shaded band around the line, e.g. p50..p99 latency. */
  band?: { lo: string; hi: string };
  width?: number;
  height?: number;
  /** A second title line, e.g. what the dashed lines mean. */
  subtitle?: string;
  /**
   * Per variant label: the series it belongs to. Colour is the machine, the
   * dash the swept parameter (a sweep of 3 machines x 3 layer counts is 3
   * colours in 3 dash styles, not 9 unrelated colours). Without it, one
   * colour per variant.
   */
  series?: Record<string, { color: string; dash?: string }>;
  /** Legend titles for the colour and the dash. */
  colorTitle?: string;
  dashTitle?: string;
  /** Horizontal reference lines, e.g. the health-check timeout. */
  yRules?: { value: number; label: string }[];
  /** Vertical markers on a variant's curve, in its colour, e.g. where threads exceed its CPUs. */
  xMarkers?: { x: number; variant: string; label: string }[];
}

/** Text in the charts is set in DejaVu Sans: it is the one font family we render PNGs with. */
export const CHART_FONT = 'DejaVu Sans';
export const DEFAULT_FONT_DIR = '/usr/share/fonts/truetype/dejavu';

interface ChartRow {
  variant: string;
  /** Colour group (the machine) and dash group (the sweep values). */
  color: string;
  dash: string;
  x: number;
  y: number;
  lo?: number;
  hi?: number;
}

function checkLogDomain(scale: ScaleKind, values: number[], axis: string): void {
  if (scale !== 'log') return;
  const bad = values.find((v) => !(v > 0));
  // A log scale maps 0 or negatives to -Infinity/NaN and vega then silently drops or misplaces marks.
  if (bad !== undefined) throw new Error(`${axis} axis uses a log scale but has the value ${bad}; a log scale needs values > 0`);
}

/**
 * A line chart with one coloured line (with point markers) per variant and,
 * optionally, a translucent band between two metrics. Points lacking the y
 * metric are left out of the chart (they are still in results.csv).
 */
export function lineChartSpec(options: LineChartOptions): TopLevelSpec {
  const { title, points, xLabel, yMetric, yLabel, band } = options;
  const xScale = options.xScale ?? 'linear';
  const yScale = options.yScale ?? 'linear';

  const rows: ChartRow[] = [];
  for (const p of points) {
    const y = p.metrics[yMetric];
    if (y === undefined || !Number.isFinite(y)) continue;
    const series = options.series?.[p.variant];
    const row: ChartRow = { variant: p.variant, color: series?.color ?? p.variant, dash: series?.dash ?? '', x: p.x, y };
    if (band) {
      const lo = p.metrics[band.lo];
      const hi = p.metrics[band.hi];
      if (Number.isFinite(lo) && Number.isFinite(hi)) {
        row.lo = lo;
        row.hi = hi;
      }
    }
    rows.push(row);
  }
  checkLogDomain(xScale, rows.map((r) => r.x), 'x');
  checkLogDomain(yScale, rows.flatMap((r) => [r.y, ...(r.lo === undefined ? [] : [r.lo, r.hi as number])]), 'y');

  // Legend and colours follow the scenario's variant order, not alphabetical order.
  const variants = [...new Set(rows.map((r) => r.color))];
  const dashes = [...new Set(rows.map((r) => r.dash))];
  const dashed = dashes.length > 1;
  // Markers at the same x (two variants with 48 CPUs) share one line and one label.
  const markers: { x: number; label: string }[] = [];
  for (const m of options.xMarkers ?? []) {
    const same = markers.find((o) => o.x === m.x);
    if (same) same.label += `; ${m.label}`;
    else markers.push({ x: m.x, label: m.label });
  }

  const x = {
    field: 'x',
    type: 'quantitative' as const,
    title: xLabel,
    scale: xScale === 'log' ? { type: 'log' as const, base: 2 } : { type: 'linear' as const, zero: false },
  };
  const y = {
    field: 'y',
    type: 'quantitative' as const,
    title: yLabel,
    scale: yScale === 'log' ? { type: 'log' as const } : { type: 'linear' as const, zero: true },
  };
  const color = {
    field: 'color',
    type: 'nominal' as const,
    title: options.colorTitle ?? null,
    scale: { domain: variants },
    // symbolOpacity: the band layer's translucency would otherwise fade the legend swatches.
    legend: { orient: 'bottom' as const, direction: 'vertical' as const, labelLimit: 0, symbolOpacity: 1, symbolType: 'stroke', symbolStrokeWidth: 3 },
  };
  const strokeDash = {
    field: 'dash',
    type: 'nominal' as const,
    title: options.dashTitle ?? null,
    scale: { domain: dashes },
    legend: { orient: 'bottom' as const, direction: 'vertical' as const, labelLimit: 0, symbolType: 'stroke', symbolStrokeWidth: 2 },
  };
  const tooltip = [
    { field: 'variant', type: 'nominal' as const, title: 'variant' },
    { field: 'x', type: 'quantitative' as const, title: xLabel },
    { field: 'y', type: 'quantitative' as const, title: yLabel, format: '.4~g' },
  ];

  const layers: NonNullable<Extract<TopLevelSpec, { layer: unknown }>['layer']> = [];
  if (band) {
    layers.push({
      transform: [{ filter: 'isValid(datum.lo) && isValid(datum.hi)' }],
      mark: { type: 'area', opacity: 0.15 },
      encoding: {
        x,
        y: { field: 'lo', type: 'quantitative', title: yLabel, scale: y.scale },
        y2: { field: 'hi' },
        // Same colour definition as the lines so vega-lite merges them into one legend.
        color,
      },
    });
  }
  layers.push({
    mark: { type: 'line', point: true, tooltip: true },
    encoding: { x, y, color, ...(dashed ? { strokeDash } : {}), tooltip },
  });
  for (const rule of options.yRules ?? []) {
    // A reference value, not data: a grey dashed line with its label above the right end.
    layers.push({
      mark: { type: 'rule', color: '#555', strokeDash: [6, 4], strokeWidth: 1.5 },
      encoding: { y: { datum: rule.value, type: 'quantitative', scale: y.scale } },
    });
    layers.push({
      mark: { type: 'text', align: 'right', baseline: 'bottom', dx: -4, dy: -3, color: '#555', fontSize: 11, text: rule.label },
      encoding: { x: { value: options.width ?? 640 }, y: { datum: rule.value, type: 'quantitative' } },
    });
  }
  if (markers.length > 0) {
    layers.push({
      data: { values: markers },
      mark: { type: 'rule', color: '#555', strokeDash: [2, 3], strokeWidth: 1.5 },
      encoding: { x: { field: 'x', type: 'quantitative' } },
    });
    layers.push({
      data: { values: markers },
      mark: { type: 'text', align: 'right', baseline: 'top', dx: -4, dy: 4, color: '#555', fontSize: 11 },
      encoding: { x: { field: 'x', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
    });
  }

  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.subtitle ? { text: title, subtitle: options.subtitle } : title,
    width: options.width ?? 640,
    height: options.height ?? 360,
    background: 'white',
    padding: 10,
    data: { values: rows as unknown as Record<string, unknown>[] },
    layer: layers,
    config: { font: CHART_FONT, title: { fontSize: 15 } },
  } as TopLevelSpec;
}

// Vega measures text with node-canvas when that package is installed, and with
// a fixed per-character estimate otherwise. Canvas metrics depend on the fonts
// of the machine, so the layout (and the SVG bytes) would differ between
// machines; pin the estimate. `textMetrics` is a runtime export the typings omit.
function pinTextMetrics(vega: typeof import('vega')): void {
  const textMetrics = (vega as unknown as { textMetrics?: { canvas(use: boolean): void } }).textMetrics;
  textMetrics?.canvas(false);
}

/**
 * Vega numbers clip paths and gradients from process-wide counters, so the
 * second chart rendered in a process gets `clip2` where the first got `clip1`.
 * Renumber them by order of appearance in this document so equal input gives
 * equal bytes whatever was rendered before.
 */
export function renumberSvgIds(svg: string): string {
  const mapping = new Map<string, string>();
  for (const match of svg.matchAll(/\sid="((?:clip|gradient_|p_gradient_)\d+)"/g)) {
    const old = match[1];
    if (!mapping.has(old)) mapping.set(old, `${old.replace(/\d+$/, '')}${mapping.size + 1}`);
  }
  if (mapping.size === 0) return svg;
  return svg.replace(/(id="|url\(#)((?:clip|gradient_|p_gradient_)\d+)(?=[")])/g, (whole, prefix: string, id: string) => {
    const renamed = mapping.get(id);
    return renamed === undefined ? whole : prefix + renamed;
  });
}

/** Compiles a vega-lite spec and renders it to an SVG document without a browser. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // Loaded here, not at the top: only commands that draw charts need them.
  const {
    vega,
    vegaLite: { compile },
  } = await chartLibraries();
  pinTextMetrics(vega);
  const { spec: vegaSpec } = compile(spec);
  const view = new vega.View(vega.parse(vegaSpec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return renumberSvgIds(svg);
  } finally {
    view.finalize();
  }
}

export interface PngOptions {
  /** Output width in pixels; height follows the aspect ratio. Default: twice the SVG width, for sharp text. */
  width?: number;
  /** Directory with the DejaVu TrueType files. */
  fontDir?: string;
}

/**
 * resvg's options for a chart. System fonts are not loaded: only the DejaVu
 * files, with every generic family mapped to them, so the picture does not
 * change with whatever else is installed on the machine.
 */
function pngRenderOptions(options: PngOptions): ResvgRenderOptions {
  const fontDir = options.fontDir ?? DEFAULT_FONT_DIR;
  const fontFiles = existsSync(fontDir) ? readdirSync(fontDir).filter((f) => /^DejaVu.*\.ttf$/i.test(f)).sort() : [];
  // Without fonts resvg silently drops every text element: refuse instead of producing a chart with no labels.
  if (fontFiles.length === 0) throw new Error(`no DejaVu fonts found in ${fontDir}; PNG text cannot be rendered (install fonts-dejavu-core)`);
  return {
    fitTo: options.width === undefined ? { mode: 'zoom', value: 2 } : { mode: 'width', value: options.width },
    background: 'white',
    font: {
      loadSystemFonts: false,
      fontFiles: fontFiles.map((f) => `${fontDir}/${f}`),
      defaultFontFamily: CHART_FONT,
      defaultFontSize: 11,
      sansSerifFamily: CHART_FONT,
      serifFamily: 'DejaVu Serif',
      monospaceFamily: 'DejaVu Sans Mono',
      cursiveFamily: CHART_FONT,
      fantasyFamily: CHART_FONT,
    },
    shapeRendering: 2,
    textRendering: 1,
    logLevel: 'off',
  };
}

/** resvg, loaded on first use: its native-binding lookup costs every command tens of ms at start. */
function resvg(): typeof import('@resvg/resvg-js') {
  return createRequire(import.meta.url)('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
}

/** Rasterises an SVG to PNG with resvg (pngRenderOptions: DejaVu fonts only). */
export function renderPng(svg: string, options: PngOptions = {}): Buffer {
  const { Resvg } = resvg();
  return new Resvg(svg, pngRenderOptions(options)).render().asPng();
}

/**
 * The same picture as renderPng, rasterised on one of libuv's threads: the
 * main thread renders the next chart's SVG meanwhile (chartFilesOf).
 */
export async function renderPngAsync(svg: string, options: PngOptions = {}): Promise<Buffer> {
  return rasterise(svg, pngRenderOptions(options));
}

async function rasterise(svg: string, options: ResvgRenderOptions): Promise<Buffer> {
  return (await resvg().renderAsync(svg, options)).asPng();
}

/**
 * The three files of one chart, ready for writeOutputs: NAME.vl.json (the
 * spec, keys sorted so it is byte-stable), NAME.svg and NAME.png.
 */
export async function chartFiles(name: string, spec: TopLevelSpec, png: PngOptions = {}): Promise<OutputFile[]> {
  return chartFilesOf([{ name, spec }], png);
}

/**
 * The files of several charts, in their order. Each SVG is rendered on this
 * thread while the PNGs of the charts before it are rasterised on libuv's
 * threads (~0.1-0.2 s per chart on the development machine), so a run's
 * charts take about the time of their SVGs plus the last PNG. The bytes are
 * those of one chart at a time: vega's process-wide id counters are
 * renumbered per document (renumberSvgIds) and resvg's work has no state
 * between pictures (test/report.charts.test.ts).
 */
export async function chartFilesOf(charts: { name: string; spec: TopLevelSpec }[], png: PngOptions = {}): Promise<OutputFile[]> {
  // The fonts are looked up once, and missing ones refused before any chart is drawn.
  const options = pngRenderOptions(png);
  const pending: { name: string; spec: TopLevelSpec; svg: string; png: Promise<Buffer> }[] = [];
  for (const { name, spec } of charts) {
    const svg = await renderSvg(spec);
    const picture = rasterise(svg, options);
    // Awaited below, in order; until then a failure must not count as unhandled (Node would end the process on it).
    picture.catch(() => {});
    pending.push({ name, spec, svg, png: picture });
  }
  const files: OutputFile[] = [];
  for (const c of pending) {
    files.push(
      { name: `${c.name}.vl.json`, content: JSON.stringify(canonicalize(c.spec), null, 2) + '\n' },
      { name: `${c.name}.svg`, content: c.svg },
      { name: `${c.name}.png`, content: await c.png },
    );
  }
  return files;
}
