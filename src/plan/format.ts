/**
 * A plan's answers as a text table (stdout) and as JSON (--json FILE). Both
 * are functions of the result alone, which is a function of the plan file, so
 * the same inputs give the same bytes.
 */
import type { Interval } from './confidence.ts';
import type { BurstSummary, CandidateResult, PlanResult } from './plan.ts';

/** Non-finite numbers (a p99 of a run that never finished) become null: JSON has no NaN. */
export function planJson(result: PlanResult): string {
  return JSON.stringify(result, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
}

const s2 = (x: number) => x.toFixed(2);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const signedPct = (x: number) => `${x >= 0 ? '-' : '+'}${(Math.abs(x) * 100).toFixed(0)}%`;

function interval(i: Interval): string {
  return i.n < 2 ? `${s2(i.mean)} s` : `${s2(i.mean)} s [${s2(i.lo)}, ${s2(i.hi)}]`;
}

function cost(b: BurstSummary): string {
  return b.costPer1000Usd === null ? '-' : `$${b.costPer1000Usd.mean.toFixed(3)}`;
}

/** "137 [137, 144)": the largest burst that holds and the interval it lies in (the next one checked fails). */
function safeBurst(c: CandidateResult): string {
  const s = c.largestSafeBurst;
  if (s.value === null) return s.failsAt === 1 ? 'none (fails at 1)' : `none (<${s.failsAt ?? s.checked[0]?.burst ?? '?'})`;
  if (s.bound === 'at-least') return `>=${s.value}`;
  return `${s.value} [${s.value}, ${s.failsAt})`;
}

function price(c: CandidateResult): string {
  return c.usdPerHour === null ? '-' : `$${c.usdPerHour.toFixed(3)}`;
}

function perDollarHour(c: CandidateResult): string {
  if (c.containersPerDollarHour === null) return '-';
  return `${c.largestSafeBurst.bound === 'at-least' ? '>=' : ''}${c.containersPerDollarHour.toFixed(1)}`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  return rows.map((r) => r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col]!))).join('  ').trimEnd()).join('\n');
}

export function planTable(result: PlanResult): string {
  const p = result.plan;
  const image = p.workload.layers !== undefined ? `${p.workload.layers} layers` : `image mix of ${p.workload.imageMix!.length}`;
  const arrival = p.workload.arrival.kind === 'burst' ? 'launched together' : `arriving at ${p.workload.arrival.perSecond}/s`;
  const lines: string[] = [];
  lines.push(`plan ${p.name}: ${p.burst} containers ${arrival}, ${p.workload.variant}, ${image}, kernel ${p.workload.kernel}`);
  lines.push(
    `objective: p99 <= ${p.objective.p99LaunchS} s (upper ${p.confidence * 100}% bound) and success >= ${pct(p.objective.successRate)} at ${p.objective.healthCheckTimeoutS} s; ${p.replications} replication${p.replications === 1 ? '' : 's'} each`,
  );
  lines.push('');
  const ci = `${p.confidence * 100}% CI`;
  const rows = [['rank', 'candidate', `p99 at ${p.burst} (${ci})`, 'success', 'largest safe burst', '$/hour', 'containers per $/h', '$/1000 launches', 'best change (p99)']];
  const byLabel = new Map(result.candidates.map((c) => [c.label, c]));
  result.ranking.forEach((label, i) => {
    const c = byLabel.get(label)!;
    const best = c.alternatives[0];
    rows.push([
      String(i + 1),
      c.label,
      interval(c.atBurst.p99S),
      pct(c.atBurst.successRate.mean),
      safeBurst(c),
      price(c),
      perDollarHour(c),
      cost(c.atBurst),
      best ? `${best.change} (${signedPct(best.p99Improvement)})` : '-',
    ]);
  });
  lines.push(table(rows));
  for (const label of result.ranking) {
    const c = byLabel.get(label)!;
    if (c.alternatives.length === 0) continue;
    lines.push('');
    lines.push(`${c.label}: changes at ${p.burst} containers, by p99 improvement`);
    lines.push(
      table([
        ['change', `p99 (${ci})`, 'p99', 'success', '$/1000 launches', 'objective'],
        ...c.alternatives.map((a) => [a.change, interval(a.atBurst.p99S), signedPct(a.p99Improvement), pct(a.atBurst.successRate.mean), cost(a.atBurst), a.atBurst.objectiveHolds ? 'met' : 'missed']),
      ]).replace(/^/gm, '  '),
    );
  }
  lines.push('');
  lines.push('largest safe burst: the largest number of containers launched together that meets the objective, [that, the smallest that fails)');
  lines.push(`cost: ${result.costDefinition}`);
  return lines.join('\n') + '\n';
}
