// Result records and their serialisations. Both files are a pure function of
// the run: no timestamps, hostnames or command lines (those go to a separate
// run-info.json written by the caller), so two runs of the same scenario and
// seed produce byte-identical results.csv and results.json, and a diff between
// runs shows only real changes.

/** One simulated chart point: a (variant, x) pair and what was measured there. */
export interface PointResult {
  variant: string;
  x: number;
  metrics: Record<string, number>;
  /** Seed of this point's random streams, derived from the scenario seed and `key`. */
  seed: string;
  /** Stable identity of the point (variant label + x), independent of work-queue order. */
  key: string;
}

export interface RunResult {
  scenario: { name: string; kind: string; file?: string; seed: number | string; resolved: unknown };
  /** Model files used, by name (hardware and kernel models, as validated). */
  models: Record<string, unknown>;
  /** What the x column means, e.g. "threads" or "concurrent containers". */
  xLabel: string;
  points: PointResult[];
  /** Program and version that produced the file, e.g. "locksim 0.1.0". */
  createdBy: string;
}

/**
 * Number formatting for result files. ECMAScript's Number::toString is fully
 * specified (shortest string that round-trips to the same double), so it is
 * locale-free, lossless and identical on every engine and machine.
 * Non-finite values keep their JS names, which CSV readers such as pandas and
 * R understand; -0 prints as "0".
 */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return String(value);
}

/** RFC 4180: a field containing a comma, quote, CR or LF is quoted, with quotes doubled. */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Code-unit order, not localeCompare: the order must not depend on the machine's locale. */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Union of metric names over all points, sorted. */
export function metricNames(run: Pick<RunResult, 'points'>): string[] {
  const names = new Set<string>();
  for (const point of run.points) for (const name of Object.keys(point.metrics)) names.add(name);
  return [...names].sort(byCodeUnit);
}

const RESERVED_COLUMNS = new Set(['variant', 'x', 'seed']);

/**
 * results.csv: header `variant,x,<metrics sorted>,seed`, one row per point in
 * the order given (the caller orders points by variant, then x). A metric a
 * point lacks, or that is undefined for it (NaN), is an empty field. Lines end in CRLF as RFC 4180 specifies.
 */
export function toCsv(run: Pick<RunResult, 'points'>): string {
  const metrics = metricNames(run);
  for (const name of metrics) {
    // A metric called "x" would give two columns of that name and make the file ambiguous.
    if (RESERVED_COLUMNS.has(name)) throw new Error(`metric name ${JSON.stringify(name)} collides with a fixed CSV column`);
  }
  const lines = [['variant', 'x', ...metrics, 'seed'].map(csvField).join(',')];
  for (const point of run.points) {
    const fields = [
      csvField(point.variant),
      formatNumber(point.x),
      // An undefined metric (NaN) is an empty field, like a missing one.
      ...metrics.map((name) => (name in point.metrics && !Number.isNaN(point.metrics[name]) ? formatNumber(point.metrics[name]!) : '')),
      csvField(point.seed),
    ];
    lines.push(fields.join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

/**
 * Copies a JSON-like value with object keys sorted recursively. Non-finite
 * numbers become the strings "NaN", "Infinity", "-Infinity": JSON.stringify
 * would otherwise turn them into null and silently lose the distinction.
 * Array order is kept (it is meaningful: points, thread lists).
 * JavaScript always lists integer-like keys ("2", "10") first in numeric
 * order, whatever the insertion order; that order is fixed too, so the output
 * stays deterministic even though such keys are not in code-unit order.
 */
export function canonicalize(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : formatNumber(value);
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(canonicalize);
  if (value instanceof Map) return canonicalize(Object.fromEntries(value));
  if (value !== null && typeof value === 'object') {
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return canonicalize((value as { toJSON(): unknown }).toJSON());
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort(byCodeUnit)) {
      const child = (value as Record<string, unknown>)[key];
      // Same rule as JSON.stringify: undefined and functions are omitted.
      if (child === undefined || typeof child === 'function') continue;
      sorted[key] = canonicalize(child);
    }
    return sorted;
  }
  return value;
}

/**
 * results.json: the whole run with keys sorted at every level, 2-space indent,
 * trailing newline. A metric undefined for a point (NaN in the simulation,
 * e.g. the mean rootfs time when every launch was cut at the horizon) is
 * null: JSON's "no value", never the string "NaN".
 */
export function toJson(run: RunResult): string {
  const points = run.points.map((p) => ({ ...p, metrics: Object.fromEntries(Object.entries(p.metrics).map(([k, v]) => [k, Number.isNaN(v) ? null : v])) }));
  return JSON.stringify(canonicalize({ ...run, points }), null, 2) + '\n';
}

/** results.csv and results.json of a run, ready for writeOutputs. */
export function resultFiles(run: RunResult): { name: string; content: string }[] {
  return [
    { name: 'results.csv', content: toCsv(run) },
    { name: 'results.json', content: toJson(run) },
  ];
}

/** The folded-stack profile file of a point, by its key: `r5.metal|containers=10` -> `profile-r5.metal_containers_10.folded`. */
export function profileFileName(key: string): string {
  return `profile-${key.replace(/[^A-Za-z0-9._-]+/g, '_')}.folded`;
}
