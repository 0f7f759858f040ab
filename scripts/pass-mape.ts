// MAPE of a validation's predictions against the runs of one pass at a
// time: held-out sets are recorded pass after pass (one run per file,
// NAME.rR.json), so a machine that moved during the recording shows as MAPE
// changing from pass to pass (docs/validation.md, "Fifteenth session").
//
// Usage: npx tsx scripts/pass-mape.ts VALIDATION.json [PROBE]   (PROBE: mountstorm, the default, or lockbench)
import { readFileSync } from 'node:fs';

const [file, probe = 'mountstorm'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: npx tsx scripts/pass-mape.ts VALIDATION.json [mountstorm|lockbench]\n');
  process.exit(2);
}
interface Point { probe: string; predicted: number; files: string[]; measured: number[] }
const report = JSON.parse(readFileSync(file, 'utf8')) as { points: Point[] };
const byPass = new Map<number, number[]>();
for (const p of report.points.filter((x) => x.probe === probe)) {
  p.files.forEach((f, i) => {
    const pass = /\.r(\d+)\.json$/.exec(f) ?? /-run(\d+)\.json$/.exec(f);
    if (!pass || p.measured[i] === undefined) return;
    const n = Number(pass[1]);
    if (!byPass.has(n)) byPass.set(n, []);
    byPass.get(n)!.push(Math.abs(p.predicted / p.measured[i]! - 1));
  });
}
for (const [pass, errs] of [...byPass].sort((a, b) => a[0] - b[0])) {
  console.log(`pass ${pass}: MAPE ${((100 * errs.reduce((a, b) => a + b, 0)) / errs.length).toFixed(1)}% over ${errs.length} configurations`);
}
