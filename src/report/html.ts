// The self-contained HTML report of a run: one file that opens from disk
// without a server or network. The charts are vega-lite specs compiled and
// rendered in the page by the vega and vega-lite builds inlined from
// node_modules (vega's View API on a <div>, SVG renderer, so tooltips and
// pan/zoom work); the results table, where the time went (launch runs), the
// models, the resolved scenario and the heaviest folded stacks are plain HTML.
//
// Everything that comes from a results directory is data: text goes through
// escapeHtml, specs and rows are embedded as JSON in <script type=
// "application/json"> with <, > and & escaped, so no input can close a tag or
// start a script. The one script that runs is the fixed one below.

import { existsSync, readFileSync } from 'node:fs';
import { runFiles } from './manifest.ts';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { stringify as toYaml } from 'yaml';
import { z } from 'zod';
import { InputError } from '../config/errors.ts';
import { YamlSource, formatPath, readInputFile } from '../config/yamlLoad.ts';
import { CHART_FONT } from './charts.ts';
import { headlineFindings } from './findings.ts';
import { formatMetric, metricLabel } from './units.ts';
import { canonicalize, formatNumber, metricNames, profileFileName, type RunResult } from './results.ts';
import { ATTRIBUTION_JSON, attributionChartSpec, type Attribution } from '../attribution/attribute.ts';

export interface FoldedStack {
  stack: string;
  count: number;
}

export interface Profile {
  name: string;
  stacks: FoldedStack[];
}

export interface ChartSection {
  /** Heading and element id stem. */
  name: string;
  spec: TopLevelSpec;
}

export interface HtmlReportInput {
  run: RunResult;
  /** Line charts of the run's kind (see runner/runScenario.ts chartSpecs). */
  charts: ChartSection[];
  profiles: Profile[];
  /** How many stacks the heaviest-stacks lists show. */
  topN: number;
  /** Shown in the title, e.g. the results directory. */
  source: string;
  /** The kind's key metrics: shown first, in human units. */
  keyMetrics?: string[];
  /** Sentences said instead of charts left out for carrying no information. */
  chartNotes?: string[];
  /** Written by locksim attribute: the share of a gap each mechanism carries. */
  attribution?: Attribution;
}

export interface VegaLibraries {
  vega: string;
  vegaLite: string;
  /** d3-flame-graph's browser build (d3 bundled in) and its stylesheet; absent: no flame graph view. */
  flamegraph?: string;
  flamegraphCss?: string;
}

/** The browser builds of vega and vega-lite, read from node_modules. */
export function loadVegaLibraries(): VegaLibraries {
  const require = createRequire(import.meta.url);
  // The packages export only their module entry; the minified UMD builds sit beside it.
  const build = (pkg: string, file: string) => readFileSync(join(dirname(require.resolve(pkg)), file), 'utf8');
  return {
    vega: build('vega', 'vega.min.js'),
    vegaLite: build('vega-lite', 'vega-lite.min.js'),
    flamegraph: build('d3-selection', 'd3-selection.min.js') + '\n' + build('d3-flame-graph', 'dist/d3-flamegraph.min.js'),
    flamegraphCss: build('d3-flame-graph', 'dist/d3-flamegraph.css'),
  };
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/**
 * JSON safe inside <script type="application/json">: `<` cannot start
 * `</script>` or `<!--`, and U+2028/2029 are escaped for old JS parsers.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** A library build inlined in <script>: `</script` inside it would end the element early. */
function inlineScript(code: string): string {
  return code.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

// ---------------------------------------------------------------- inputs

// null: a metric undefined for the point (results.ts); older files wrote "NaN".
const metricValue = z.union([z.number(), z.null().transform(() => NaN), z.enum(['NaN', 'Infinity', '-Infinity']).transform((n) => Number(n))]);

const resultsSchema = z.object({
  scenario: z.object({ name: z.string(), kind: z.string(), file: z.string().optional(), seed: z.union([z.number(), z.string()]), resolved: z.unknown() }),
  models: z.record(z.string(), z.unknown()),
  xLabel: z.string(),
  createdBy: z.string(),
  points: z.array(z.object({ variant: z.string(), x: z.number(), key: z.string(), seed: z.string(), metrics: z.record(z.string(), metricValue) })),
});

/** Reads a run's results.json (written by locksim run or merge). */
export function readResultsJson(file: string): RunResult {
  const text = readInputFile(file, 'a results.json written by locksim run');
  // JSON is YAML, and the YAML loader knows where every value is.
  const source = new YamlSource(text, file);
  return source.validate(resultsSchema) as RunResult;
}

/** Parses a folded-stacks profile (`frame;frame;frame COUNT` per line, as flamegraph.pl reads). */
export function parseFolded(text: string, file: string): FoldedStack[] {
  const stacks: FoldedStack[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const m = /^(.*\S)\s+(\d+)$/.exec(line);
    if (!m) {
      const space = line.lastIndexOf(' ');
      throw new InputError({ file, line: i + 1, column: space + 2, field: 'count', expected: 'a stack of ;-separated frames, a space and a whole sample count', got: JSON.stringify(line.slice(space + 1, space + 21)) });
    }
    stacks.push({ stack: m[1]!, count: Number(m[2]) });
  }
  return stacks;
}

const gapValuesSchema = z.object({ a: metricValue, b: metricValue, ratio: metricValue, gap: metricValue });
const attributionSchema = z.object({
  format: z.literal('locksim-attribution'),
  version: z.literal(1),
  scenario: z.object({ name: z.string(), file: z.string(), seed: z.number(), ablate: z.array(z.string()) }),
  gap: z.object({ a: z.string(), b: z.string() }),
  metric: z.string(),
  xLabel: z.string(),
  mechanisms: z.array(z.object({ name: z.string(), description: z.string() })),
  rows: z.array(z.object({ x: z.number(), full: gapValuesSchema, ablated: z.record(z.string(), gapValuesSchema.extend({ share: metricValue })), remainder: metricValue })),
});

/** Reads attribution.json (written by locksim attribute). */
export function readAttributionJson(file: string): Attribution {
  const text = readInputFile(file, 'an attribution.json written by locksim attribute');
  return new YamlSource(text, file).validate(attributionSchema) as Attribution;
}

/** Reads results.json, the *.folded profiles and, if there is one, the attribution of a results directory. */
export function loadResultsDir(dir: string): { run: RunResult; profiles: Profile[]; attribution?: Attribution } {
  const run = readResultsJson(join(dir, 'results.json'));
  const attributionFile = join(dir, ATTRIBUTION_JSON);
  const attribution = existsSync(attributionFile) ? readAttributionJson(attributionFile) : undefined;
  // Only the profiles of this run's points, in the order of its points, and
  // only those its manifest lists: a .folded file left in the directory by
  // another run is not this run's.
  const listed = new Set(runFiles(dir));
  const names = run.points.map((p) => profileFileName(p.key)).filter((name) => listed.has(name));
  const profiles = names.map((name) => ({ name, stacks: parseFolded(readFileSync(join(dir, name), 'utf8'), join(dir, name)) }));
  return attribution ? { run, profiles, attribution } : { run, profiles };
}

/** The `n` heaviest stacks, equal stacks summed, ties in code-unit order of the stack. */
export function topStacks(stacks: FoldedStack[], n: number): FoldedStack[] {
  const sums = new Map<string, number>();
  for (const s of stacks) sums.set(s.stack, (sums.get(s.stack) ?? 0) + s.count);
  return [...sums]
    .map(([stack, count]) => ({ stack, count }))
    .sort((a, b) => b.count - a.count || (a.stack < b.stack ? -1 : a.stack > b.stack ? 1 : 0))
    .slice(0, n);
}

// ---------------------------------------------------------------- flame graph

/** A flame graph node as d3-flame-graph draws it. */
export interface FlameNode {
  name: string;
  value: number;
  children: FlameNode[];
}

/** Folded stacks as a tree: each frame a node whose value is the samples of the stacks through it. */
export function flameTree(stacks: FoldedStack[], rootName = 'all'): FlameNode {
  const root: FlameNode = { name: rootName, value: 0, children: [] };
  for (const { stack, count } of stacks) {
    root.value += count;
    let node = root;
    for (const frame of stack.split(';')) {
      let child = node.children.find((c) => c.name === frame);
      if (!child) node.children.push((child = { name: frame, value: 0, children: [] }));
      child.value += count;
      node = child;
    }
  }
  return root;
}

function flameSection(profiles: Profile[], hasLibrary: boolean): string {
  if (profiles.length === 0 || !hasLibrary) return '';
  const trees = profiles.map((p) => flameTree(p.stacks, p.name.replace(/^profile-/, '').replace(/\.folded$/, '')));
  // Opens on the heaviest profile (the slowest point, as a rule).
  const heaviest = trees.reduce((best, t, i) => (t.value > trees[best]!.value ? i : best), 0);
  const options = profiles.map((p, i) => `<option value="${i}"${i === heaviest ? ' selected' : ''}>${escapeHtml(p.name)}</option>`).join('');
  return `<section id="flamegraph"><h2>Flame graph</h2>
<p>Where each point's simulated threads spent their time (microseconds, on and off CPU), from its folded stacks. Click a frame to zoom, click the bottom bar to zoom out. The same <code>*.folded</code> files open in <a href="https://www.speedscope.app">speedscope</a> (drag a file in: it reads the collapsed-stack format) and in <code>flamegraph.pl</code>.</p>
<p><label>point <select id="flame-select">${options}</select></label></p>
<div id="flame-chart" class="d3-flame-graph-host"></div>
<script type="application/json" id="flame-data">${jsonForScript(trees)}</script>
</section>`;
}

// ---------------------------------------------------------------- breakdown chart

/** `share*` metrics of a launch run: shares of containerd's elapsed time that add up to 1. */
export function shareMetrics(run: Pick<RunResult, 'points'>): string[] {
  return metricNames(run).filter((n) => /^share[A-Z]/.test(n));
}

/** shareLockSleep -> "lock sleep". */
export function shareLabel(metric: string): string {
  return metric
    .replace(/^share/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase();
}

/** Label of a point on the breakdown chart's x axis; unique because keys are. */
export function pointLabel(p: { variant: string; x: number }): string {
  return `${p.variant} | ${formatNumber(p.x)}`;
}

/** Stacked bars, one per point, of where containerd's time went; undefined when the run has no share metrics. */
export function breakdownSpec(run: RunResult): TopLevelSpec | undefined {
  const shares = shareMetrics(run);
  if (shares.length === 0) return undefined;
  const parts = shares.map(shareLabel);
  const rows = run.points.flatMap((p) =>
    shares.map((metric, order) => ({ point: pointLabel(p), part: parts[order], order, share: Number.isFinite(p.metrics[metric]) ? p.metrics[metric] : 0 })),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${run.scenario.name}: where containerd's time went`,
    width: Math.max(320, 26 * run.points.length),
    height: 320,
    background: 'white',
    padding: 10,
    data: { values: rows },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x: { field: 'point', type: 'nominal', sort: run.points.map(pointLabel), title: `variant | ${run.xLabel}`, axis: { labelAngle: -50, labelLimit: 260 } },
      y: { field: 'share', type: 'quantitative', stack: 'zero', title: 'share of elapsed time', axis: { format: '%' }, scale: { domain: [0, 1] } },
      color: { field: 'part', type: 'nominal', title: null, scale: { domain: parts }, legend: { orient: 'right' } },
      order: { field: 'order', type: 'quantitative' },
      tooltip: [
        { field: 'point', type: 'nominal', title: 'point' },
        { field: 'part', type: 'nominal', title: 'part' },
        { field: 'share', type: 'quantitative', title: 'share', format: '.1%' },
      ],
    },
    config: { font: CHART_FONT },
  } as TopLevelSpec;
}

/**
 * Pan and zoom with the mouse on the line charts (a layered spec: the
 * parameter goes on the layer of the lines; reference rules and labels have
 * no x/y fields to project a selection on).
 */
function interactive(spec: TopLevelSpec): TopLevelSpec {
  const copy = structuredClone(spec) as unknown as { layer?: Record<string, unknown>[] };
  const isLine = (l: Record<string, unknown>) => (l.mark as { type?: string } | string | undefined) === 'line' || (l.mark as { type?: string } | undefined)?.type === 'line';
  const lines = copy.layer?.find(isLine) ?? copy.layer?.[copy.layer.length - 1];
  if (lines) lines.params = [{ name: 'zoom', select: 'interval', bind: 'scales' }];
  return copy as unknown as TopLevelSpec;
}

// ---------------------------------------------------------------- page

/** Short form for the table (4 significant digits); the full value is in the cell's title. */
function shortNumber(v: number): string {
  return Number.isFinite(v) ? String(Number(v.toPrecision(4))) : formatNumber(v);
}

/** The key metrics of the run in human units, one row per point: the table a reader looks at first. */
function keyMetricsTable(run: RunResult, metrics: string[]): string {
  const present = metrics.filter((m) => run.points.some((p) => m in p.metrics));
  if (present.length === 0) return '';
  const head = ['variant', run.xLabel, ...present.map(metricLabel)].map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const rows = run.points.map((p) => {
    const cells = present.map((m) => `<td class="num" title="${escapeHtml(m in p.metrics && !Number.isNaN(p.metrics[m]) ? formatNumber(p.metrics[m]!) : '')}">${escapeHtml(formatMetric(m, p.metrics[m]))}</td>`);
    return `<tr><td>${escapeHtml(p.variant)}</td><td class="num">${escapeHtml(formatNumber(p.x))}</td>${cells.join('')}</tr>`;
  });
  return `<table id="key-metrics"><thead><tr>${head}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

function resultsTable(run: RunResult, first: string[] = []): string {
  // The key metrics first, then the rest alphabetically.
  const metrics = [...first.filter((m) => metricNames(run).includes(m)), ...metricNames(run).filter((m) => !first.includes(m))];
  const head = ['variant', run.xLabel, ...metrics, 'seed'].map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const rows = run.points.map((p) => {
    // An undefined metric (null in results.json, NaN here) is an empty cell, like a missing one.
    const cells = metrics.map((m) => (m in p.metrics && !Number.isNaN(p.metrics[m]) ? `<td class="num" title="${escapeHtml(formatNumber(p.metrics[m]!))}">${escapeHtml(shortNumber(p.metrics[m]!))}</td>` : '<td></td>'));
    return `<tr><td>${escapeHtml(p.variant)}</td><td class="num">${escapeHtml(formatNumber(p.x))}</td>${cells.join('')}<td><code>${escapeHtml(p.seed)}</code></td></tr>`;
  });
  return `<div class="scroll"><table id="results"><thead><tr>${head}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table></div>`;
}

function stackList(stacks: FoldedStack[], total: number): string {
  const items = stacks.map((s) => {
    const frames = s.stack.split(';').map(escapeHtml).join(';<wbr>');
    const pct = total > 0 ? ((100 * s.count) / total).toFixed(1) : '0.0';
    return `<tr><td class="num">${s.count}</td><td class="num">${pct}%</td><td class="stack">${frames}</td></tr>`;
  });
  return `<table class="stacks"><thead><tr><th>samples</th><th>share</th><th>stack</th></tr></thead><tbody>${items.join('')}</tbody></table>`;
}

function profilesSection(profiles: Profile[], topN: number): string {
  if (profiles.length === 0) return '';
  const all = profiles.flatMap((p) => p.stacks);
  const total = (s: FoldedStack[]) => s.reduce((a, b) => a + b.count, 0);
  const per = profiles.map(
    (p) => `<details class="profile"><summary>${escapeHtml(p.name)} (${total(p.stacks)} samples)</summary>${stackList(topStacks(p.stacks, topN), total(p.stacks))}</details>`,
  );
  return `<section id="stacks"><h2>Heaviest stacks</h2>
<p>Folded stacks (<code>*.folded</code>, one per point; counts are microseconds on CPU). The ${topN} heaviest over all ${profiles.length} profiles:</p>
<div id="stacks-all">${stackList(topStacks(all, topN), total(all))}</div>
<p>Per profile:</p>
${per.join('\n')}
</section>`;
}

const percent = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : '-');

/** Shares of the gap per mechanism and x, with the full ratio, as a table. */
function attributionTable(at: Attribution): string {
  const head = [at.xLabel, `${at.metric}: ratio`, ...at.mechanisms.map((m) => m.name), 'remainder'].map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const rows = at.rows.map((r) => {
    const cells = at.mechanisms.map((m) => `<td class="num">${escapeHtml(percent(r.ablated[m.name]?.share ?? NaN))}</td>`).join('');
    return `<tr><td class="num">${escapeHtml(formatNumber(r.x))}</td><td class="num">${escapeHtml(shortNumber(r.full.ratio))}</td>${cells}<td class="num">${escapeHtml(percent(r.remainder))}</td></tr>`;
  });
  const described = at.mechanisms.map((m) => `<li><code>${escapeHtml(m.name)}</code>: ${escapeHtml(m.description)}</li>`).join('');
  return `<div class="scroll"><table id="attribution-table"><thead><tr>${head}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table></div>\n<ul>${described}</ul>`;
}

function yamlBlock(id: string, value: unknown): string {
  return `<pre id="${id}">${escapeHtml(toYaml(canonicalize(value), { lineWidth: 0 }))}</pre>`;
}

// The only script that runs in the page. It reads specs as JSON data and
// reports its outcome on <body data-rendered / data-render-error> for tests.
// Draws the selected point's flame graph with d3-flame-graph (a d3 selection
// from d3-selection is what its chart function is called with).
const FLAME_SCRIPT = `
(function () {
  var data = document.getElementById('flame-data');
  if (!data) return;
  var trees = JSON.parse(data.textContent);
  var select = document.getElementById('flame-select');
  var host = document.getElementById('flame-chart');
  function show() {
    host.textContent = '';
    var chart = flamegraph().width(Math.max(600, Math.min(1160, host.clientWidth || 1160))).cellHeight(18).transitionDuration(0).minFrameSize(1).sort(true);
    d3.select(host).datum(trees[Number(select.value)]).call(chart);
    host.setAttribute('data-frames', String(host.querySelectorAll('svg g rect').length));
  }
  select.addEventListener('change', show);
  show();
})();
`;

const PAGE_SCRIPT = `
(function () {
  var containers = Array.prototype.slice.call(document.querySelectorAll('[data-vl-spec]'));
  Promise.all(containers.map(function (el) {
    var spec = JSON.parse(document.getElementById(el.getAttribute('data-vl-spec')).textContent);
    var view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'svg', container: el, hover: true });
    return view.runAsync();
  })).then(function () {
    document.body.setAttribute('data-rendered', String(containers.length));
  }, function (err) {
    document.body.setAttribute('data-render-error', String(err && err.message || err));
    console.error(err);
  });
})();
`;

const STYLE = `
body { font-family: '${CHART_FONT}', sans-serif; margin: 1.5em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
thead th { background: #f4f4f4; position: sticky; top: 0; }
.scroll { overflow: auto; max-height: 40em; }
.chart { margin: 1em 0; }
td.stack { font-family: monospace; word-break: break-all; }
pre { background: #f8f8f8; padding: 0.8em; overflow: auto; max-height: 40em; font-size: 0.85em; }
`;

/** The whole page. */
export function renderHtmlReport(input: HtmlReportInput, libs: VegaLibraries = loadVegaLibraries()): string {
  const { run } = input;
  const charts: ChartSection[] = input.charts.map((c) => ({ name: c.name, spec: interactive(c.spec) }));
  const breakdown = breakdownSpec(run);
  const chartDiv = (c: ChartSection, i: number, prefix: string) =>
    `<div class="chart" id="${prefix}-${i}" data-vl-spec="${prefix}-spec-${i}" data-name="${escapeHtml(c.name)}"></div>\n<script type="application/json" id="${prefix}-spec-${i}">${jsonForScript(c.spec)}</script>`;
  const title = `locksim report: ${run.scenario.name}`;
  const findings = headlineFindings(run);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${findings.length > 0 ? `<section id="findings"><h2>Findings</h2>\n<ul>${findings.map((f) => `<li>${escapeHtml(f)}</li>`).join('\n')}</ul>\n</section>` : ''}
<p>Scenario <code>${escapeHtml(run.scenario.file ?? run.scenario.name)}</code>, kind ${escapeHtml(run.scenario.kind)}, seed ${escapeHtml(String(run.scenario.seed))}, ${run.points.length} points; from <code>${escapeHtml(input.source)}</code>, ${escapeHtml(run.createdBy)}. Drag to pan, scroll to zoom, hover for values.</p>
<section id="key"><h2>Key metrics</h2>
${keyMetricsTable(run, input.keyMetrics ?? [])}
</section>
<section id="charts"><h2>Charts</h2>
${(input.chartNotes ?? []).map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('\n')}
${charts.map((c, i) => chartDiv(c, i, 'chart')).join('\n')}
</section>
${breakdown ? `<section id="breakdown"><h2>Where the time went</h2>\n${chartDiv({ name: 'breakdown', spec: breakdown }, 0, 'breakdown')}\n</section>` : ''}
${input.attribution ? `<section id="attribution"><h2>Attribution</h2>
<p>The gap is ${escapeHtml(input.attribution.metric)} of <b>${escapeHtml(input.attribution.gap.a)}</b> over <b>${escapeHtml(input.attribution.gap.b)}</b>, minus 1, at each ${escapeHtml(input.attribution.xLabel)}. A mechanism's share is the part of the gap that disappears when it alone is switched off; the remainder (1 minus the shares) is interactions and what no single mechanism explains.</p>
${chartDiv({ name: 'attribution', spec: attributionChartSpec(input.attribution) }, 0, 'attribution')}
${attributionTable(input.attribution)}
</section>` : ''}
${flameSection(input.profiles, !!libs.flamegraph)}
<section><h2>All results</h2>
${resultsTable(run, input.keyMetrics)}
</section>
${profilesSection(input.profiles, input.topN)}
<section><h2>Models</h2>
${yamlBlock('models', run.models)}
</section>
<section><h2>Resolved scenario</h2>
${yamlBlock('scenario', run.scenario.resolved)}
</section>
<script>${inlineScript(libs.vega)}</script>
<script>${inlineScript(libs.vegaLite)}</script>
<script>${PAGE_SCRIPT}</script>
${libs.flamegraph && input.profiles.length > 0 ? `<style>${libs.flamegraphCss ?? ''}</style>\n<script>${inlineScript(libs.flamegraph)}</script>\n<script>${FLAME_SCRIPT}</script>` : ''}
</body>
</html>
`;
}
