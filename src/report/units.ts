/**
 * How a metric reads to a person: a header ("p99 launch") and a value in
 * human units ("37.7 ms", "1.36 s", "92%"). The unit comes from the metric's
 * name, by the convention the simulation modules follow: a name ending in `S`
 * is seconds, in `Ns` nanoseconds, `Rate` or `share...`/`...Share...` a
 * fraction. Result files keep the raw numbers; only what people read goes
 * through here.
 */

/** Headers for metrics whose name alone does not read well; others are split from camelCase. */
const LABELS: Record<string, string> = {
  launchP50S: 'p50 launch',
  launchP95S: 'p95 launch',
  launchP99S: 'p99 launch',
  launchMaxS: 'slowest launch',
  launchMeanS: 'mean launch',
  successRate: 'launched in time',
  failures: 'failed',
  mountOps: 'mount calls',
  namespaceSemWaitS: 'namespace_sem wait',
  mountLockSpinS: 'mount_lock spin',
  acquisitionsPerSec: 'acquisitions/s',
  latencyMeanNs: 'mean latency',
  latencyP99Ns: 'p99 latency',
  oneWayMedianNs: 'one-way latency',
};

export type Unit = 'seconds' | 'nanoseconds' | 'fraction' | 'count';

export function unitOf(metric: string): Unit {
  if (/Ns$/.test(metric)) return 'nanoseconds';
  if (/S$/.test(metric)) return 'seconds';
  if (/Rate$/.test(metric) || /^share[A-Z]/.test(metric) || /Share/.test(metric)) return 'fraction';
  return 'count';
}

/** A readable column header for a metric name. */
export function metricLabel(metric: string): string {
  return LABELS[metric] ?? metric.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/ (S|Ns)$/, '').toLowerCase();
}

/** Three significant digits, no locale, no exponent for ordinary magnitudes. */
export function significant(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  if (Math.abs(value) >= 10 ** digits) return Math.round(value).toString();
  return String(Number(value.toPrecision(digits)));
}

/** Nanoseconds as microseconds with one decimal ("12.3 us"), as the host commands print measured latencies. */
export function formatMicroseconds(ns: number): string {
  return `${(ns / 1000).toFixed(1)} us`;
}

/** A duration in seconds, in the unit that keeps it between 1 and 1000 (ns to s). */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return String(seconds);
  const a = Math.abs(seconds);
  if (a === 0) return '0 s';
  if (a >= 1) return `${significant(seconds)} s`;
  if (a >= 1e-3) return `${significant(seconds * 1e3)} ms`;
  if (a >= 1e-6) return `${significant(seconds * 1e6)} µs`;
  return `${significant(seconds * 1e9)} ns`;
}

/** A fraction as a percentage: 0.923 -> "92%", 1 -> "100%", 0.9996 -> "99.96%" (never rounded up to 100). */
export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction)) return String(fraction);
  const pct = fraction * 100;
  if (pct === 100 || pct === 0) return `${pct}%`;
  for (const d of [0, 1, 2, 3]) {
    const text = pct.toFixed(d);
    if (Number(text) !== 100 && Number(text) !== 0) return `${text}%`;
  }
  return `${pct.toPrecision(3)}%`;
}

/** A metric's value in human units. */
export function formatMetric(metric: string, value: number | undefined): string {
  // NaN: undefined for the point (null in results.json), shown like a missing metric.
  if (value === undefined || Number.isNaN(value)) return '-';
  switch (unitOf(metric)) {
    case 'seconds':
      return formatSeconds(value);
    case 'nanoseconds':
      return formatSeconds(value * 1e-9);
    case 'fraction':
      return formatPercent(value);
    default:
      return Number.isInteger(value) ? String(value) : significant(value);
  }
}
