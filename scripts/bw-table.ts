/**
 * The Boyd-Wickizer cross-check's numbers for docs/validation.md: simulated
 * ticket-lock throughput beside the closed form, same set-up as
 * test/theory.test.ts. Usage: npx tsx scripts/bw-table.ts
 */
import { runLockMicrobench } from '../src/bench/lockMicrobench.ts';
import { boydWickizerMachine, throughputPerSec } from '../src/theory/boydWickizer.ts';

const c = 40, a = 200_000, s = 10_000, n = 96;
const spec = boydWickizerMachine(n, c);
console.log('| N | closed form (acq/s) | simulated (acq/s) | error |\n|---|---|---|---|');
for (const cores of [1, 2, 4, 8, 16, 24, 32, 40, 48, 64, 80, 96]) {
  const theory = throughputPerSec({ cores, thinkNs: a + c, serialNs: s + c, requestNs: c });
  const durationNs = (12_000 / theory) * 1e9 / 0.9;
  const r = runLockMicrobench(spec, { lock: 'ticket-split', threads: cores, criticalSectionNs: s, thinkNs: a, distribution: 'exponential', durationNs, placement: 'compact', warmupFraction: 0.1 }, `bw-${cores}`);
  console.log(`| ${cores} | ${theory.toFixed(0)} | ${r.acquisitionsPerSec.toFixed(0)} | ${((r.acquisitionsPerSec / theory - 1) * 100).toFixed(1)}% |`);
}
