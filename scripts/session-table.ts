/**
 * The host-calibration table of docs/validation.md from two recording
 * sessions, each calibrated and validated on its own (measurements/record.sh,
 * then calibrate and validate as in docs/validation.md): per held-out mount
 * storm configuration, each session's measured mean, prediction and error,
 * and how far the two sessions' measurements differ, a spread that the
 * within-session run-to-run CV does not show.
 * Usage: npx tsx scripts/session-table.ts DIR_B DIR_A  (each holding validation/validation.json)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Point { probe: string; label: string; measuredMean: number; predicted: number; errorPct: number; cvPct: number }
interface Report { mapePct: { mountstorm: number }; meanCvPct: { mountstorm: number }; points: Point[] }

const [dirB, dirA] = process.argv.slice(2);
if (!dirB || !dirA) throw new Error('usage: session-table.ts DIR_B DIR_A');
const load = (d: string) => JSON.parse(readFileSync(join(d, 'validation/validation.json'), 'utf8')) as Report;
const b = load(dirB), a = load(dirA);
const ms = (s: number) => (s * 1e3).toFixed(2);
const pct = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}%`;
console.log('| configuration | B measured (CV) | B predicted | B error | A measured (CV) | A predicted | A error | A vs B measured |');
console.log('|---|---|---|---|---|---|---|---|');
const spreads: number[] = [];
for (const p of b.points.filter((x) => x.probe === 'mountstorm')) {
  const q = a.points.find((x) => x.label === p.label);
  if (!q) continue;
  const d = (q.measuredMean / p.measuredMean - 1) * 100;
  spreads.push(Math.abs(d));
  console.log(`| ${p.label} | ${ms(p.measuredMean)} ms (${p.cvPct.toFixed(0)}%) | ${ms(p.predicted)} ms | ${pct(p.errorPct)} | ${ms(q.measuredMean)} ms (${q.cvPct.toFixed(0)}%) | ${ms(q.predicted)} ms | ${pct(q.errorPct)} | ${pct(d)} |`);
}
console.log(`\nMAPE: session B ${b.mapePct.mountstorm.toFixed(1)}% (mean CV ${b.meanCvPct.mountstorm.toFixed(1)}%), session A ${a.mapePct.mountstorm.toFixed(1)}% (mean CV ${a.meanCvPct.mountstorm.toFixed(1)}%); mean absolute difference between the sessions' measurements ${(spreads.reduce((x, y) => x + y, 0) / spreads.length).toFixed(1)}%`);
