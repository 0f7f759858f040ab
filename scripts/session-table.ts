/**
 * The host-calibration table of docs/validation.md from several recording
 * sessions, each calibrated and validated on its own (measurements/record.sh,
 * then calibrate and validate as in docs/validation.md): per held-out mount
 * storm configuration, each session's measured mean (with its run-to-run CV),
 * prediction error, and how far the sessions' measurements of the same
 * configuration differ, a spread that the within-session CV does not show.
 * Usage: npx tsx scripts/session-table.ts NAME=DIR [NAME=DIR ...]  (each DIR holding validation/validation.json)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Point { probe: string; label: string; measuredMean: number; predicted: number; errorPct: number; cvPct: number }
interface Report { mapePct: { mountstorm: number }; meanCvPct: { mountstorm: number }; points: Point[] }

const sessions = process.argv.slice(2).map((a) => {
  const [name, dir] = a.split('=');
  if (!name || !dir) throw new Error('usage: session-table.ts NAME=DIR [NAME=DIR ...]');
  return { name, report: JSON.parse(readFileSync(join(dir, 'validation/validation.json'), 'utf8')) as Report };
});
const ms = (s: number) => (s * 1e3).toFixed(2);
const pct = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}%`;
console.log(`| configuration | ${sessions.map((s) => `${s.name}: measured (CV) | ${s.name}: error`).join(' | ')} | spread of the sessions' means |`);
console.log(`|---|${sessions.map(() => '---|---|').join('')}---|`);
const spreads: number[] = [];
for (const p of sessions[0]!.report.points.filter((x) => x.probe === 'mountstorm')) {
  const row = sessions.map((s) => s.report.points.find((x) => x.label === p.label));
  if (row.some((x) => !x)) continue;
  const means = row.map((x) => x!.measuredMean);
  const mean = means.reduce((a, b) => a + b, 0) / means.length;
  // Sample CV of the sessions' means: how much the same configuration moves from one session to another.
  const cv = (Math.sqrt(means.reduce((a, x) => a + (x - mean) ** 2, 0) / (means.length - 1)) / mean) * 100;
  spreads.push(cv);
  console.log(`| ${p.label} | ${row.map((x) => `${ms(x!.measuredMean)} ms (${x!.cvPct.toFixed(0)}%) | ${pct(x!.errorPct)}`).join(' | ')} | ${cv.toFixed(0)}% |`);
}
const mapes = sessions.map((s) => `${s.name} ${s.report.mapePct.mountstorm.toFixed(1)}% (run-to-run CV ${s.report.meanCvPct.mountstorm.toFixed(1)}%)`).join(', ');
console.log(`\nMAPE: ${mapes}; the sessions' means of one configuration differ by a CV of ${(spreads.reduce((a, b) => a + b, 0) / spreads.length).toFixed(1)}% on average`);
