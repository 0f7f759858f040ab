/**
 * The long fuzz run of issue 11: seeded mutations of every input kind, each
 * loaded the way the CLI loads it, outcomes tallied. Exit code 1 when any
 * input crashed a loader or got a message that is not one located line of at
 * most 300 characters. Usage:
 *
 *   npx tsx scripts/fuzz-inputs.ts [RUNS_PER_KIND=1250] [SEED=11]
 *
 * 1,250 per kind x 8 kinds = 10,000 inputs (docs/reliability.md).
 */
import { fuzzKind, inputKinds } from '../test/helpers/fuzzInputs.ts';

const runs = Number(process.argv[2] ?? 1250);
const seed = Number(process.argv[3] ?? 11);
const only = process.argv[4];
let bad = 0;
let total = 0;
const started = Date.now();
for (const kind of inputKinds()) {
  if (only && kind.name !== only) continue;
  const t0 = Date.now();
  const r = fuzzKind(kind, runs, seed);
  total += r.runs;
  const failures = r.counts.crash + r.counts['over-long line'] + r.counts['multi-line'] + r.counts['bad location'] + r.counts.warning;
  bad += failures;
  const c = r.counts;
  process.stdout.write(`${kind.name.padEnd(15)} ${String(r.runs).padStart(6)} inputs: ${c.loaded} loaded, ${c['input error']} one-line errors, ${c.crash} crashes, ${c['over-long line']} over-long, ${c['multi-line']} multi-line, ${c['bad location']} bad locations, ${c.warning} warnings (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  for (const [outcome, list] of Object.entries(r.examples)) for (const ex of list ?? []) process.stdout.write(`  ${outcome}: ${ex}\n`);
}
process.stdout.write(`total ${total} inputs, ${bad} findings, seed ${seed}, ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
process.exitCode = bad === 0 ? 0 : 1;
