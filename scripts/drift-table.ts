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
 * or, for many pairs at once, the mount storms' summary numbers alone:
 *   npx tsx scripts/drift-table.ts --summary (A_ON_A.json A_ON_B.json B_ON_B.json)...
 */
import { readFileSync } from 'node:fs';

interface Point { probe: 'mountstorm' | 'lockbench'; label: string; measuredMean: number; predicted: number; errorPct: number; cvPct: number; interval: { low: number; high: number; inside: boolean } | null }
interface Report { points: Point[] }
const args = process.argv.slice(2);
const summaryOnly = args[0] === '--summary';
const files = summaryOnly ? args.slice(1) : args;
if (files.length === 0 || files.length % 3 !== 0 || (!summaryOnly && files.length !== 3)) {
  throw new Error('usage: drift-table.ts A_ON_A.json A_ON_B.json B_ON_B.json | drift-table.ts --summary (A_ON_A.json A_ON_B.json B_ON_B.json)...');
}
const read = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as Report;
const pct = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}%`;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Window B's configurations of `probe` that A's and A-on-B's reports have too: each one's three points and the drift between the windows (%). */
function configurations(aa: Report, ab: Report, bb: Report, probe: Point['probe']): { a: Point; x: Point; b: Point; drift: number }[] {
  return bb.points
    .filter((p) => p.probe === probe)
    .flatMap((b) => {
      const a = aa.points.find((p) => p.label === b.label), x = ab.points.find((p) => p.label === b.label);
      return a && x ? [{ a, x, b, drift: Math.abs(a.measuredMean / b.measuredMean - 1) * 100 }] : [];
    });
}

// --summary: one line per triple, the mount storms' "drift MAPE ratio
// coverage%" of calibration A on window B (`- - - -` when they share no
// configuration, have no intervals, or a file is missing), for scripts/window-matrix.sh: one process for every pair
// instead of one tsx start each.
if (summaryOnly) {
  for (let i = 0; i < files.length; i += 3) {
    let reports: Report[];
    try {
      reports = files.slice(i, i + 3).map(read);
    } catch (e) {
      // A validation that failed left no file: that pair is left out, as before.
      process.stderr.write(`drift-table: ${(e as Error).message}\n`);
      console.log('- - - -');
      continue;
    }
    const cs = configurations(reports[0]!, reports[1]!, reports[2]!, 'mountstorm');
    const drift = cs.map((c) => c.drift), err = cs.map((c) => Math.abs(c.x.errorPct));
    const inside = cs.flatMap((c) => (c.x.interval ? [c.x.interval.inside] : []));
    // A pair with no intervals (no coverage) is left out too.
    console.log(drift.length && inside.length ? `${mean(drift).toFixed(1)} ${mean(err).toFixed(1)} ${(mean(err) / mean(drift)).toFixed(2)} ${((100 * inside.filter(Boolean).length) / inside.length).toFixed(0)}` : '- - - -');
  }
  process.exit(0);
}

const [aa, ab, bb] = files.map(read) as [Report, Report, Report];
for (const probe of ['mountstorm', 'lockbench'] as const) {
  const show = (v: number) => (probe === 'mountstorm' ? `${(v * 1e3).toFixed(2)} ms` : `${(v / 1e6).toFixed(2)} M/s`);
  const iv = (p: Point) => (p.interval ? `${show(p.interval.low)}-${show(p.interval.high)}${p.interval.inside ? '' : ' **out**'}` : 'n/a');
  console.log(`\n${probe}:\n`);
  console.log('| configuration | window A: measured (CV) | window B: measured (CV) | drift | calibration A: predicted, 90% interval | error | calibration B: predicted, 90% interval | error |');
  console.log('|---|---|---|---|---|---|---|---|');
  const drift: number[] = [], errA: number[] = [], errB: number[] = [], inA: boolean[] = [], inB: boolean[] = [];
  for (const { a, x, b, drift: d } of configurations(aa, ab, bb, probe)) {
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
