/**
 * The "calibration recorded in one command" tables of docs/validation.md:
 * two recording windows (each `locksim calibrate --record DIR` plus
 * `measurements/record-heldout.sh DIR/heldout`), validated with
 * `locksim validate`. Per held-out configuration: each window's measured mean
 * (run-to-run CV), the drift between the windows (|mean A / mean B - 1|: how
 * well the machine's own earlier measurement predicts its later one), and
 * each calibration's prediction for window B with its 90% interval.
 * Summary per probe: MAPE beside the drift, and the interval coverage.
 * Usage: npx tsx scripts/drift-table.ts A_ON_A.json A_ON_B.json B_ON_B.json
 *   (validation.json of calibration A on held-out A, A on held-out B, B on held-out B)
 */
import { readFileSync } from 'node:fs';

interface Point { probe: 'mountstorm' | 'lockbench'; label: string; measuredMean: number; predicted: number; errorPct: number; cvPct: number; interval: { low: number; high: number; inside: boolean } | null }
interface Report { points: Point[] }
const [aa, ab, bb] = process.argv.slice(2).map((f) => JSON.parse(readFileSync(f, 'utf8')) as Report);
if (!aa || !ab || !bb) throw new Error('usage: drift-table.ts A_ON_A.json A_ON_B.json B_ON_B.json');

const pct = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}%`;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
for (const probe of ['mountstorm', 'lockbench'] as const) {
  const show = (v: number) => (probe === 'mountstorm' ? `${(v * 1e3).toFixed(2)} ms` : `${(v / 1e6).toFixed(2)} M/s`);
  const iv = (p: Point) => (p.interval ? `${show(p.interval.low)}-${show(p.interval.high)}${p.interval.inside ? '' : ' **out**'}` : 'n/a');
  console.log(`\n${probe}:\n`);
  console.log('| configuration | window A: measured (CV) | window B: measured (CV) | drift | calibration A: predicted, 90% interval | error | calibration B: predicted, 90% interval | error |');
  console.log('|---|---|---|---|---|---|---|---|');
  const drift: number[] = [], errA: number[] = [], errB: number[] = [], inA: boolean[] = [], inB: boolean[] = [];
  for (const b of bb.points.filter((p) => p.probe === probe)) {
    const a = aa.points.find((p) => p.label === b.label), x = ab.points.find((p) => p.label === b.label);
    if (!a || !x) continue;
    const d = Math.abs(a.measuredMean / b.measuredMean - 1) * 100;
    drift.push(d);
    errA.push(Math.abs(x.errorPct));
    errB.push(Math.abs(b.errorPct));
    if (x.interval) inA.push(x.interval.inside);
    if (b.interval) inB.push(b.interval.inside);
    console.log(`| ${b.label} | ${show(a.measuredMean)} (${a.cvPct.toFixed(0)}%) | ${show(b.measuredMean)} (${b.cvPct.toFixed(0)}%) | ${d.toFixed(1)}% | ${show(x.predicted)}, ${iv(x)} | ${pct(x.errorPct)} | ${show(b.predicted)}, ${iv(b)} | ${pct(b.errorPct)} |`);
  }
  if (drift.length === 0) continue;
  const cov = (xs: boolean[]) => (xs.length ? `${((100 * xs.filter(Boolean).length) / xs.length).toFixed(0)}% (${xs.filter(Boolean).length}/${xs.length})` : 'n/a');
  console.log(`\n${probe}: drift between the windows ${mean(drift).toFixed(1)}% (mean over ${drift.length} configurations); calibration A on window B: MAPE ${mean(errA).toFixed(1)}% (${(mean(errA) / mean(drift)).toFixed(2)}x the drift), coverage ${cov(inA)}; calibration B on window B: MAPE ${mean(errB).toFixed(1)}% (${(mean(errB) / mean(drift)).toFixed(2)}x the drift), coverage ${cov(inB)}`);
}
