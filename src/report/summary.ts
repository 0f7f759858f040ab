// A short plain-text table printed to stdout after a run: enough to see the
// shape of each curve at a glance, in human units. The full data is in results.csv.

import type { PointResult, RunResult } from './results.ts';
import { formatMetric, metricLabel } from './units.ts';

export interface SummaryOptions {
  /** Upper bound on the lines of the table, header included. */
  maxLines?: number;
}

/**
 * Four significant digits, no locale (a thousands separator that depends on
 * the machine's locale would make the output differ between hosts).
 */
export function formatSummaryNumber(value: number): string {
  // Undefined for the point (null in results.json): shown like a missing metric.
  if (Number.isNaN(value)) return '-';
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e4 && magnitude < 1e12) return value.toFixed(0);
  if (magnitude >= 1e12 || magnitude < 1e-3) return value.toExponential(3);
  // toPrecision then Number() drops trailing zeros: 12.50 -> 12.5.
  return String(Number(value.toPrecision(4)));
}

/**
 * Picks `count` indices spread evenly over 0..length-1, always including the
 * first and last, so the rows show both ends of the curve and its middle.
 */
export function representativeIndices(length: number, count: number): number[] {
  if (length <= count) return Array.from({ length }, (_, i) => i);
  if (count <= 1) return [length - 1];
  const picked = new Set<number>();
  for (let i = 0; i < count; i++) picked.add(Math.round((i * (length - 1)) / (count - 1)));
  return [...picked].sort((a, b) => a - b);
}

/**
 * Rows of (variant, x, metrics...) with aligned columns: text left-aligned,
 * numbers right-aligned. When a variant has more x values than fit, a
 * spread of representative x values is shown and the table says so.
 */
export function summaryTable(run: Pick<RunResult, 'points' | 'xLabel'>, metrics: string[], options: SummaryOptions = {}): string {
  const maxLines = options.maxLines ?? 25;
  const byVariant = new Map<string, PointResult[]>();
  for (const point of run.points) {
    const list = byVariant.get(point.variant) ?? [];
    list.push(point);
    byVariant.set(point.variant, list);
  }
  for (const list of byVariant.values()) list.sort((a, b) => a.x - b.x);

  // Budget: header + separator, and one trailing note line if rows are elided.
  const variantCount = Math.max(byVariant.size, 1);
  const totalPoints = run.points.length;
  const rowsAvailable = maxLines - 2;
  const elided = totalPoints > rowsAvailable;
  // At least 2 rows per variant (first and last x) so every variant appears even when that overruns the budget.
  const perVariant = Math.max(2, Math.floor((rowsAvailable - (elided ? 1 : 0)) / variantCount));

  // Readable headers and human units (ms, s, %); results.csv keeps the raw numbers.
  const header = ['variant', run.xLabel || 'x', ...metrics.map(metricLabel)];
  const rows: string[][] = [];
  for (const [variant, list] of byVariant) {
    for (const index of representativeIndices(list.length, perVariant)) {
      const point = list[index];
      rows.push([
        variant,
        formatSummaryNumber(point.x),
        ...metrics.map((m) => formatMetric(m, point.metrics[m])),
      ]);
    }
  }

  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((r) => r[col].length)));
  const align = (cells: string[]) =>
    cells
      .map((cell, col) => (col === 0 ? cell.padEnd(widths[col]) : cell.padStart(widths[col])))
      .join('  ')
      .trimEnd();
  const lines = [align(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(align)];
  if (rows.length < totalPoints) lines.push(`(${rows.length} of ${totalPoints} points shown; all are in results.csv)`);
  return lines.join('\n') + '\n';
}

/** What kind of output a file is, by its name, for the short listing after a run. */
function fileKind(name: string): string {
  if (/^results\.(csv|json)$/.test(name)) return 'results';
  if (/\.(vl\.json|svg|png)$/.test(name)) return 'charts';
  if (/\.folded$/.test(name)) return 'profiles (folded stacks)';
  if (/\.speedscope\.json$/.test(name)) return 'profiles (speedscope)';
  if (/\.html$/.test(name)) return 'report';
  if (name === 'manifest.json') return 'manifest';
  return 'other';
}

/**
 * The files a run wrote, one short line per kind: "charts: 3 x (.vl.json .svg
 * .png), e.g. out/default-p99.svg" instead of thirty names on one line.
 */
export function writtenFilesLines(outDir: string, files: string[]): string[] {
  const byKind = new Map<string, string[]>();
  for (const f of files) {
    const kind = fileKind(f);
    byKind.set(kind, [...(byKind.get(kind) ?? []), f]);
  }
  const lines: string[] = [];
  for (const [kind, names] of byKind) {
    const at = (n: string) => `${outDir}/${n}`;
    if (names.length <= 2) {
      lines.push(`  ${kind}: ${names.map(at).join(', ')}`);
      continue;
    }
    const extensions = [...new Set(names.map((n) => n.match(/(\.[a-z]+)?\.[a-z]+$/)?.[0] ?? ''))];
    const stems = new Set(names.map((n) => n.slice(0, n.length - (n.match(/(\.[a-z]+)?\.[a-z]+$/)?.[0].length ?? 0))));
    lines.push(`  ${kind}: ${stems.size} (${extensions.join(' ')}), e.g. ${at(names[0])}`);
  }
  return [`wrote ${files.length} files to ${outDir}/`, ...lines];
}
