/**
 * A wakeup measurement recorded before the probe measured interrupts, with
 * another measurement's `interrupts` section grafted onto its runs (run i
 * takes run i mod n of the donor): for refitting an older window with the
 * interrupt costs measured later on the same machine (docs/validation.md,
 * "Seventh session"). With --strip instead of a donor: the measurement
 * without its `interrupts` (a refit of the model before them).
 * With --wake-call, only the donor's `wakeCall` (the waker's cost of a
 * wake-up onto another cpu, measured from the eleventh session on) is grafted,
 * and the old file keeps its own interrupts.
 * Usage: npx tsx scripts/graft-interrupts.ts [--wake-call] OLD.json DONOR.json|--strip OUT.json
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { loadMeasurement, parseMeasurement } from '../src/host/measure.ts';
import { atomicWrite } from '../src/report/atomicWrite.ts';

const args = process.argv.slice(2);
const wakeCallOnly = args[0] === '--wake-call';
const [oldFile, donorFile, out] = wakeCallOnly ? args.slice(1) : args;
if (!oldFile || !donorFile || !out) {
  console.error('usage: npx tsx scripts/graft-interrupts.ts [--wake-call] OLD.json DONOR.json|--strip OUT.json');
  process.exit(2);
}
try {
  const old = loadMeasurement(oldFile);
  if (old.kind !== 'wakeup') throw new Error(`${oldFile}: not a wakeup measurement`);
  const raw = JSON.parse(readFileSync(oldFile, 'utf8'));
  if (donorFile === '--strip') {
    for (const r of raw.results.runs) {
      delete r.interrupts;
      delete r.wakeCall;
    }
  } else if (wakeCallOnly) {
    const donor = loadMeasurement(donorFile);
    if (donor.kind !== 'wakeup' || donor.results.runs.some((r) => !r.wakeCall)) throw new Error(`${donorFile}: not a wakeup measurement with wakeCall`);
    if (JSON.stringify(donor.host.machine) !== JSON.stringify(old.host.machine)) throw new Error(`${donorFile} was recorded on another machine than ${oldFile}`);
    raw.results.runs.forEach((r: Record<string, unknown>, i: number) => (r.wakeCall = donor.results.runs[i % donor.results.runs.length]!.wakeCall));
  } else {
    const donor = loadMeasurement(donorFile);
    if (donor.kind !== 'wakeup' || donor.results.runs.some((r) => !r.interrupts)) throw new Error(`${donorFile}: not a wakeup measurement with interrupts`);
    if (JSON.stringify(donor.host.machine) !== JSON.stringify(old.host.machine)) throw new Error(`${donorFile} was recorded on another machine than ${oldFile}`);
    raw.results.runs.forEach((r: Record<string, unknown>, i: number) => (r.interrupts = donor.results.runs[i % donor.results.runs.length]!.interrupts));
  }
  const text = JSON.stringify(raw, null, 1) + '\n';
  // It must still be a measurement, checked before anything is written.
  parseMeasurement(text, out);
  await atomicWrite(out, text);
  console.log(`wrote ${out}`);
} catch (e) {
  // Bad input: one line, exit 2, nothing written.
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
}
