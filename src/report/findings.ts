/**
 * Headline findings: three to five sentences computed from a run's results,
 * the story a reader wants before any table (which machine starts failing
 * where, by how much the machines differ at the largest load, where the time
 * goes). Printed by `locksim run` and opening the HTML report.
 *
 * Everything is read from results.json's points; the metric names used are
 * listed once, in METRICS, and a sentence whose metrics a run lacks is left
 * out rather than failing (metrics are added and renamed as the model grows).
 */
import type { PointResult, RunResult } from './results.ts';
import { formatMetric, formatPercent, formatSeconds, significant } from './units.ts';

/** The metric names the findings read, in one place. */
export const METRICS = {
  launchP50: 'launchP50S',
  launchP99: 'launchP99S',
  success: 'successRate',
  throughput: 'acquisitionsPerSec',
  lockLatency: 'latencyMeanNs',
  oneWay: 'oneWayMedianNs',
} as const;

/** Shares of the containerd threads' elapsed time (they sum to 1), with what each means. */
export const TIME_SHARES: Record<string, string> = {
  shareLockSleep: 'asleep waiting for namespace_sem',
  shareSpin: 'spinning on mount_lock or namespace_sem',
  shareCriticalSection: 'holding mount_lock or namespace_sem',
  shareRcuWait: 'waiting for RCU grace periods (synchronize_rcu_expedited)',
  shareKernelWork: 'in other kernel work of the mount calls',
  shareRuntimeWork: "in containerd's own work",
  shareContainerStart: 'starting the container (runc)',
  shareRunQueue: 'waiting for a CPU',
};

type Curve = { variant: string; points: PointResult[] };

function curves(run: Pick<RunResult, 'points'>): Curve[] {
  const byVariant = new Map<string, PointResult[]>();
  for (const p of run.points) {
    const list = byVariant.get(p.variant) ?? [];
    list.push(p);
    byVariant.set(p.variant, list);
  }
  return [...byVariant].map(([variant, points]) => ({ variant, points: [...points].sort((a, b) => a.x - b.x) }));
}

const has = (p: PointResult | undefined, metric: string): p is PointResult => !!p && Number.isFinite(p.metrics[metric]);

/** "a", "a and b", "a, b and c" */
export function listing(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** The largest x every curve reached, and each curve's point there. */
/**
 * The largest x every curve has, preferring one where no launch was cut at
 * the simulation's horizon: a cut launch's time is the horizon, so two
 * machines that both ran out of time would compare as equal.
 */
function atLargestCommonX(cs: Curve[]): { x: number; points: { variant: string; point: PointResult }[] } | undefined {
  if (cs.length === 0) return undefined;
  const common = cs.map((c) => new Set(c.points.map((p) => p.x))).reduce((a, b) => new Set([...a].filter((x) => b.has(x))));
  if (common.size === 0) return undefined;
  const at = (x: number) => cs.map((c) => ({ variant: c.variant, point: c.points.find((p) => p.x === x)! }));
  const uncut = [...common].filter((x) => at(x).every(({ point }) => !(point.metrics.unfinished > 0)));
  const x = Math.max(...(uncut.length > 0 ? uncut : common));
  return { x, points: at(x) };
}

/** "2.6x", "36x", "1.04x" when close to 1. */
function ratio(r: number): string {
  return `${r >= 10 ? Math.round(r) : r.toFixed(r < 1.1 ? 2 : 1)}x`;
}

function healthCheckSeconds(run: Pick<RunResult, 'scenario'>): number | undefined {
  const launch = (run.scenario.resolved as { launch?: { healthCheckTimeoutNs?: number } } | undefined)?.launch;
  return typeof launch?.healthCheckTimeoutNs === 'number' ? launch.healthCheckTimeoutNs * 1e-9 : undefined;
}

function launchFindings(run: Pick<RunResult, 'points' | 'xLabel' | 'scenario'>): string[] {
  const out: string[] = [];
  const cs = curves(run);
  const unit = run.xLabel || 'containers';
  const timeout = healthCheckSeconds(run);
  const within = timeout === undefined ? 'in time' : `within the ${formatSeconds(timeout)} health check`;

  // 1. Where each machine starts failing.
  const withSuccess = cs.filter((c) => c.points.some((p) => has(p, METRICS.success)));
  if (withSuccess.length > 0) {
    // Machines that start failing at the same load share one clause.
    const byX = new Map<number, { variant: string; success: number }[]>();
    const fine: string[] = [];
    for (const c of withSuccess) {
      const first = c.points.find((p) => has(p, METRICS.success) && p.metrics[METRICS.success] < 1);
      if (first) byX.set(first.x, [...(byX.get(first.x) ?? []), { variant: c.variant, success: first.metrics[METRICS.success] }]);
      else fine.push(c.variant);
    }
    const failing = [...byX].sort(([a], [b]) => a - b).map(([x, group]) => {
      const shares = [...new Set(group.map((g) => g.success))];
      const launched = shares.length === 1 && shares[0] === 0 ? `none launched ${within}` : `${listing(group.map((g) => formatPercent(g.success)))} launched ${within}`;
      return `${listing(group.map((g) => g.variant))} ${group.length === 1 ? 'starts' : 'start'} failing at ${x} ${unit} (${launched})`;
    });
    const maxX = Math.max(...withSuccess.flatMap((c) => c.points.map((p) => p.x)));
    if (failing.length === 0) {
      out.push(`Every launch finished ${within} on ${withSuccess.length === 1 ? withSuccess[0].variant : `all ${withSuccess.length} machines`}, up to ${maxX} ${unit}.`);
    } else {
      const rest = fine.length === 0 ? '' : `; ${listing(fine)} ${fine.length === 1 ? 'launches' : 'launch'} every container up to ${maxX}`;
      out.push(`${listing(failing)}${rest}.`);
    }
  }

  // 2. How far apart the machines are at the largest load.
  const top = atLargestCommonX(cs);
  const p99s = top?.points.filter((v) => has(v.point, METRICS.launchP99)) ?? [];
  if (top && p99s.length >= 2) {
    const sorted = [...p99s].sort((a, b) => a.point.metrics[METRICS.launchP99] - b.point.metrics[METRICS.launchP99]);
    const best = sorted[0], worst = sorted[sorted.length - 1];
    const b = best.point.metrics[METRICS.launchP99], w = worst.point.metrics[METRICS.launchP99];
    if (b > 0) {
      out.push(
        `At ${top.x} ${unit}, ${best.variant}'s p99 launch time (${formatSeconds(b)}) is ${ratio(w / b)} lower than ${worst.variant}'s (${formatSeconds(w)}).`,
      );
    }
  }

  // 3. How the slowest curve grows against the load.
  const growth = cs
    .map((c) => ({ c, lo: c.points.find((p) => has(p, METRICS.launchP50)), hi: [...c.points].reverse().find((p) => has(p, METRICS.launchP50)) }))
    .filter((g) => g.lo && g.hi && g.hi.x > g.lo.x && g.lo.metrics[METRICS.launchP50] > 0);
  if (growth.length > 0) {
    const g = growth.reduce((a, b) => (b.hi!.metrics[METRICS.launchP50] > a.hi!.metrics[METRICS.launchP50] ? b : a));
    const lo = g.lo!, hi = g.hi!;
    const timeRatio = hi.metrics[METRICS.launchP50] / lo.metrics[METRICS.launchP50];
    const loadRatio = hi.x / lo.x;
    const pace = timeRatio > loadRatio * 1.1 ? 'faster than' : timeRatio < loadRatio / 1.1 ? 'slower than' : 'in step with';
    out.push(
      `On ${g.c.variant}, the median launch takes ${ratio(timeRatio)} longer at ${hi.x} ${unit} than at ${lo.x} (${formatSeconds(lo.metrics[METRICS.launchP50])} to ${formatSeconds(hi.metrics[METRICS.launchP50])}), ${pace} the ${ratio(loadRatio)} load.`,
    );
  }

  // 4. Where containerd's time goes on the slowest machine at the largest load.
  const slowest = top?.points.filter((v) => has(v.point, METRICS.launchP99)).sort((a, b) => b.point.metrics[METRICS.launchP99] - a.point.metrics[METRICS.launchP99])[0] ?? top?.points[0];
  if (slowest) {
    const shares = Object.keys(TIME_SHARES)
      .filter((m) => has(slowest.point, m))
      .map((m) => ({ m, v: slowest.point.metrics[m] }))
      .sort((a, b) => b.v - a.v);
    if (shares.length >= 2 && shares[0].v > 0) {
      const [first, second] = shares;
      out.push(
        `On ${slowest.variant} at ${top!.x} ${unit}, containerd spends ${formatPercent(first.v)} of its launch time ${TIME_SHARES[first.m]}` +
          (second.v > 0 ? `, and ${formatPercent(second.v)} ${TIME_SHARES[second.m]}.` : '.'),
      );
    }
  }
  return out;
}

function microbenchFindings(run: Pick<RunResult, 'points' | 'xLabel'>): string[] {
  const out: string[] = [];
  const cs = curves(run).filter((c) => c.points.some((p) => has(p, METRICS.throughput)));
  if (cs.length === 0) return out;
  const top = atLargestCommonX(cs);
  const tps = top?.points.filter((v) => has(v.point, METRICS.throughput)) ?? [];
  if (top && tps.length >= 2) {
    const sorted = [...tps].sort((a, b) => b.point.metrics[METRICS.throughput] - a.point.metrics[METRICS.throughput]);
    const best = sorted[0], worst = sorted[sorted.length - 1];
    const b = best.point.metrics[METRICS.throughput], w = worst.point.metrics[METRICS.throughput];
    if (w > 0) out.push(`At ${top.x} ${run.xLabel}, ${best.variant} completes ${ratio(b / w)} more lock acquisitions per second than ${worst.variant} (${significant(b / 1e6)} vs ${significant(w / 1e6)} million per second).`);
  }
  for (const c of cs) {
    const valid = c.points.filter((p) => has(p, METRICS.throughput));
    const peak = valid.reduce((a, b) => (b.metrics[METRICS.throughput] > a.metrics[METRICS.throughput] ? b : a));
    const last = valid[valid.length - 1];
    if (last.x > peak.x && last.metrics[METRICS.throughput] < peak.metrics[METRICS.throughput] / 1.1) {
      out.push(`On ${c.variant}, throughput peaks at ${peak.x} ${run.xLabel} and falls ${ratio(peak.metrics[METRICS.throughput] / last.metrics[METRICS.throughput])} by ${last.x}: more waiters make the lock slower, not just busier.`);
    }
    if (out.length >= 4) break;
  }
  return out;
}

function pingpongFindings(run: Pick<RunResult, 'points' | 'xLabel'>): string[] {
  const out: string[] = [];
  for (const c of curves(run)) {
    const valid = c.points.filter((p) => has(p, METRICS.oneWay));
    if (valid.length < 2) continue;
    const lo = valid.reduce((a, b) => (b.metrics[METRICS.oneWay] < a.metrics[METRICS.oneWay] ? b : a));
    const hi = valid.reduce((a, b) => (b.metrics[METRICS.oneWay] > a.metrics[METRICS.oneWay] ? b : a));
    out.push(`On ${c.variant}, a cache line travels one way in ${formatMetric(METRICS.oneWay, lo.metrics[METRICS.oneWay])} to the nearest partner (cpu ${lo.x}) and ${formatMetric(METRICS.oneWay, hi.metrics[METRICS.oneWay])} to the farthest (cpu ${hi.x}).`);
    if (out.length >= 5) break;
  }
  return out;
}

/** Three to five sentences about a run, computed from its results; empty when its kind has none. */
export function headlineFindings(run: Pick<RunResult, 'points' | 'xLabel' | 'scenario'>): string[] {
  switch (run.scenario.kind) {
    case 'launch':
      return launchFindings(run).slice(0, 5);
    case 'lock-microbench':
      return microbenchFindings(run).slice(0, 5);
    case 'pingpong':
      return pingpongFindings(run).slice(0, 5);
    default:
      return [];
  }
}
