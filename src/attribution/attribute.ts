/**
 * Attribution: how much of a gap between two variants each mechanism carries.
 *
 * The scenario's two gap variants are simulated once as they are and once per
 * mechanism switched off (src/config/ablations.ts), all points in one pool
 * run, each point with its own seed (the plain point's: an ablated point draws
 * the same random numbers where the mechanism does not intervene), so the
 * result does not depend on the number of workers.
 *
 * At each x, with ratio = metric(A) / metric(B) and gap = ratio - 1:
 *
 *   share(mechanism) = (gap_full - gap_without_it) / gap_full
 *
 * the part of the gap that disappears when the mechanism is switched off. One
 * at a time: shares need not add up to 1 (two mechanisms that need each other
 * both carry the whole gap); `remainder` = 1 - sum of shares is what no single
 * ablation explains plus the interactions. A negative share is a mechanism
 * that narrows the gap.
 */
import type { TopLevelSpec } from 'vega-lite';
import { InputError } from '../config/errors.ts';
import { ABLATIONS, ABLATION_NAMES, type AblationName } from '../config/ablations.ts';
import { resolvePoints, type Point } from '../config/points.ts';
import type { Scenario } from '../config/scenarioSchema.ts';
import { CHART_FONT, chartFiles } from '../report/charts.ts';
import { csvField, formatNumber } from '../report/results.ts';
import type { OutputFile } from '../report/atomicWrite.ts';
import { formatSummaryNumber } from '../report/summary.ts';
import { kinds, type PointOutput } from '../runner/kinds.ts';
import { simulatePoints, type PoolOptions } from '../runner/pool.ts';

export interface AttributionSpec {
  /** Labels of the two variants (after sweep expansion): the gap is metric(A) / metric(B) - 1. */
  gap: [string, string];
  metric: string;
  /** Mechanisms to ablate one at a time. */
  mechanisms: AblationName[];
  /** Only these x values (default: the scenario's). */
  at?: number[];
}

/** The metric of A and B at one x, their ratio and gap. */
export interface GapValues {
  a: number;
  b: number;
  ratio: number;
  gap: number;
}

export interface AttributionRow {
  x: number;
  full: GapValues;
  /** Per mechanism: the gap with it switched off and the share of the full gap it carries. */
  ablated: Record<string, GapValues & { share: number }>;
  /** 1 - sum of the shares: interactions and what no single ablation explains. */
  remainder: number;
}

export interface Attribution {
  format: 'locksim-attribution';
  version: 1;
  scenario: { name: string; file: string; seed: number; ablate: AblationName[] };
  gap: { a: string; b: string };
  metric: string;
  xLabel: string;
  mechanisms: { name: AblationName; description: string }[];
  rows: AttributionRow[];
}

/** The default metric of a kind's gap (launch: p99 launch latency, as the blog's charts). */
export function defaultMetric(kind: Scenario['kind']): string {
  return kind === 'launch' ? 'launchP99S' : kinds[kind].summary[0]!;
}

/** Variant labels of a scenario after sweep expansion, in order. */
export function variantLabels(scenario: Scenario): string[] {
  return [...new Set(resolvePoints(scenario).map((p) => p.variant))];
}

/**
 * `A/B` from the command line: labels may themselves contain `/`, so every
 * split is tried and the one that names two variants is taken.
 */
export function parseGap(text: string, labels: string[]): [string, string] | undefined {
  for (let i = text.indexOf('/'); i >= 0; i = text.indexOf('/', i + 1)) {
    const a = text.slice(0, i).trim(), b = text.slice(i + 1).trim();
    if (labels.includes(a) && labels.includes(b) && a !== b) return [a, b];
  }
  return undefined;
}

export function gapValues(a: number, b: number): GapValues {
  const ratio = a / b;
  return { a, b, ratio, gap: ratio - 1 };
}

/** The share of `full`'s gap that disappears in `ablated`; NaN where there is no gap to share. */
export function shareOfGap(full: GapValues, ablated: GapValues): number {
  if (!Number.isFinite(full.gap) || full.gap === 0 || !Number.isFinite(ablated.gap)) return NaN;
  return (full.gap - ablated.gap) / full.gap;
}

export interface AttributionRun {
  attribution: Attribution;
  /** The plain run's points and outputs (the gap variants only), for the result files. */
  points: Point[];
  outputs: PointOutput[];
}

/**
 * Runs the attribution. The plain points go first: a metric the kind does not
 * have is refused (InputError, nothing written) before the ablated runs.
 */
export async function runAttribution(scenario: Scenario, fileLabel: string, spec: AttributionSpec, pool: PoolOptions): Promise<AttributionRun> {
  const [a, b] = spec.gap;
  const plainPoints = resolvePoints(scenario).filter((p) => (p.variant === a || p.variant === b) && (spec.at === undefined || spec.at.includes(p.x)));
  const ablatedPoints = spec.mechanisms.flatMap((name) => plainPoints.map((p) => ({ ...p, ablate: [...(p.ablate ?? []), name] })));
  const all = [...plainPoints, ...ablatedPoints];
  let done = 0;
  const progress = { ...pool, onPoint: (_d: number, _t: number, p: Point) => pool.onPoint?.(++done, all.length, p) };
  const plain = await simulatePoints(plainPoints, progress);
  if (!plain.every((o) => spec.metric in o.metrics)) {
    const names = Object.keys(plain[0]?.metrics ?? {}).sort();
    throw new InputError({ file: fileLabel, line: 1, column: 1, field: 'attribution.metric', expected: `a metric of a ${scenario.kind} point (${names.join(', ')})`, got: JSON.stringify(spec.metric) });
  }
  const ablated = await simulatePoints(ablatedPoints, progress);

  const xs = [...new Set(plainPoints.map((p) => p.x))];
  const metricOf = (outputs: PointOutput[], points: Point[], variant: string, x: number) =>
    outputs[points.findIndex((p) => p.variant === variant && p.x === x)]!.metrics[spec.metric]!;
  const rows: AttributionRow[] = xs.map((x) => {
    const full = gapValues(metricOf(plain, plainPoints, a, x), metricOf(plain, plainPoints, b, x));
    const perMechanism: AttributionRow['ablated'] = {};
    let sum = 0;
    spec.mechanisms.forEach((name, k) => {
      const slice = ablated.slice(k * plainPoints.length, (k + 1) * plainPoints.length);
      const g = gapValues(metricOf(slice, plainPoints, a, x), metricOf(slice, plainPoints, b, x));
      const share = shareOfGap(full, g);
      perMechanism[name] = { ...g, share };
      sum += share;
    });
    return { x, full, ablated: perMechanism, remainder: 1 - sum };
  });
  const attribution: Attribution = {
    format: 'locksim-attribution',
    version: 1,
    scenario: { name: scenario.name, file: fileLabel, seed: scenario.seed, ablate: scenario.ablate ?? [] },
    gap: { a, b },
    metric: spec.metric,
    xLabel: kinds[scenario.kind].xLabel,
    mechanisms: spec.mechanisms.map((name) => ({ name, description: ABLATIONS.find((x) => x.name === name)!.description })),
    rows,
  };
  return { attribution, points: plainPoints, outputs: plain };
}

/** Mechanisms to ablate by default: every registered one the scenario does not already switch off. */
export function defaultMechanisms(scenario: Scenario): AblationName[] {
  return ABLATION_NAMES.filter((n) => !(scenario.ablate ?? []).includes(n));
}

// ---------------------------------------------------------------- output

/** JSON without NaN/Infinity (written by name, as results.json does), keys in a fixed order. */
export function attributionJson(at: Attribution): string {
  return JSON.stringify(at, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? formatNumber(v) : v), 2) + '\n';
}

/** One row per (x, mechanism), plus the full gap (`none`) and the remainder at each x. */
export function attributionCsv(at: Attribution): string {
  const lines = [['x', 'mechanism', `${at.metric} ${at.gap.a}`, `${at.metric} ${at.gap.b}`, 'ratio', 'gap', 'share'].map(csvField).join(',')];
  const n = formatNumber;
  for (const r of at.rows) {
    lines.push([n(r.x), 'none', n(r.full.a), n(r.full.b), n(r.full.ratio), n(r.full.gap), ''].join(','));
    for (const m of at.mechanisms) {
      const g = r.ablated[m.name]!;
      lines.push([n(r.x), m.name, n(g.a), n(g.b), n(g.ratio), n(g.gap), n(g.share)].join(','));
    }
    lines.push([n(r.x), 'remainder', '', '', '', '', n(r.remainder)].join(','));
  }
  return lines.join('\n') + '\n';
}

/** Below this |gap| a share divides noise by noise; the table marks such rows. */
export const SMALL_GAP = 0.05;

const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(0)}%` : '-');

/** The stdout table: one line per x, the full ratio, then each mechanism's share and the remainder. */
export function attributionTable(at: Attribution): string {
  const head = [at.xLabel, `${at.metric} A/B`, ...at.mechanisms.map((m) => m.name), 'remainder'];
  const small = (r: AttributionRow) => Math.abs(r.full.gap) < SMALL_GAP;
  const body = at.rows.map((r) => [formatSummaryNumber(r.x), formatSummaryNumber(r.full.ratio) + (small(r) ? '*' : ''), ...at.mechanisms.map((m) => pct(r.ablated[m.name]!.share)), pct(r.remainder)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    `gap: ${at.metric} of "${at.gap.a}" / "${at.gap.b}" - 1; share of the gap each mechanism carries (switched off alone)`,
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
    ...(at.rows.some(small) ? [`* a gap under ${100 * SMALL_GAP}%: its shares are mostly noise (a small difference divided by a small gap)`] : []),
  ].join('\n');
}

/** Grouped bars: at each x, one bar per mechanism (its share of the gap) and one for the remainder. */
export function attributionChartSpec(at: Attribution): TopLevelSpec {
  const parts = [...at.mechanisms.map((m) => m.name), 'remainder'];
  const values = at.rows.flatMap((r) => [
    ...at.mechanisms.map((m) => ({ x: r.x, part: m.name, share: r.ablated[m.name]!.share, ratio: r.full.ratio })),
    { x: r.x, part: 'remainder', share: r.remainder, ratio: r.full.ratio },
  ]).filter((v) => Number.isFinite(v.share));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${at.scenario.name}: share of the ${at.metric} gap (${at.gap.a} / ${at.gap.b}) each mechanism carries`,
    width: Math.max(360, 28 * at.rows.length * parts.length),
    height: 300,
    background: 'white',
    padding: 10,
    data: { values },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x: { field: 'x', type: 'ordinal', title: at.xLabel },
      xOffset: { field: 'part', type: 'nominal', sort: parts },
      y: { field: 'share', type: 'quantitative', title: 'share of the gap', axis: { format: '%' } },
      color: { field: 'part', type: 'nominal', title: 'switched off', scale: { domain: parts } },
      tooltip: [
        { field: 'x', type: 'ordinal', title: at.xLabel },
        { field: 'part', type: 'nominal', title: 'mechanism' },
        { field: 'share', type: 'quantitative', title: 'share', format: '.1%' },
        { field: 'ratio', type: 'quantitative', title: 'full ratio A/B', format: '.3f' },
      ],
    },
    config: { font: CHART_FONT },
  } as TopLevelSpec;
}

export const ATTRIBUTION_JSON = 'attribution.json';

export async function attributionFiles(at: Attribution, charts: boolean): Promise<OutputFile[]> {
  const files: OutputFile[] = [
    { name: ATTRIBUTION_JSON, content: attributionJson(at) },
    { name: 'attribution.csv', content: attributionCsv(at) },
  ];
  if (charts) files.push(...(await chartFiles(`${at.scenario.name}-attribution`, attributionChartSpec(at))));
  else files.push({ name: `${at.scenario.name}-attribution.vl.json`, content: JSON.stringify(attributionChartSpec(at), null, 2) + '\n' });
  return files;
}
