// Boyd-Wickizer cross-check: under the assumptions of "Non-scalable locks are
// dangerous" (2012), the simulated ticket lock's throughput vs cores must match
// the closed-form birth-death (M/M/1//N) solution within 5% at every N from 1
// to 96, and both must show the collapse: throughput peaks at some interior N
// and falls as more cores contend.
//
// The machine is made by hand to satisfy the model's assumptions, not taken
// from a model file:
// - one home serializes every cache-line request at c = 40 ns, whoever asks
//   (one socket, one L3, every pair latency = c, L1 hits free);
// - waiters re-read in random order after each release: the tiny pause jitter
//   (4 ns) shuffles their requests, so the next holder is on average halfway
//   through the home's queue, B-W's c*k/2;
// - 'ticket-split' keeps `next` on its own line, so taking a ticket does not
//   invalidate the waiters (B-W's model ignores that traffic);
// - think and critical-section times are exponential (a = 200 us, s = 10 us).
// The release write costs one request (so the serial part is s + c) and taking
// a ticket costs one (so the think part is a + c).
import { describe, it, expect } from 'vitest';
import { runLockMicrobench } from '../src/bench/lockMicrobench.ts';
import { boydWickizerMachine, productFormDistribution, stationaryDistribution, throughputPerSec, type BoydWickizerParams } from '../src/theory/boydWickizer.ts';

const c = 40;
const a = 200_000;
const s = 10_000;
const maxCores = 96;
/** Acquisitions measured per N: the relative noise of a throughput is about 1/sqrt of it (~0.9%). */
const acquisitionsPerPoint = 12_000;
const warmupFraction = 0.1;

const bwMachine = (cores: number) => boydWickizerMachine(cores, c);

const theoryParams = (n: number): BoydWickizerParams => ({ cores: n, thinkNs: a + c, serialNs: s + c, requestNs: c });

interface Row { n: number; theory: number; simulated: number; acquisitions: number }

/** Simulated and closed-form throughput for each N, computed once per file. */
const rows = (() => {
  let cache: Row[] | undefined;
  return (): Row[] => {
    if (cache) return cache;
    const spec = bwMachine(maxCores);
    cache = [];
    for (let n = 1; n <= maxCores; n++) {
      const theory = throughputPerSec(theoryParams(n));
      // Long enough for about `acquisitionsPerPoint` acquisitions after warm-up.
      const durationNs = (acquisitionsPerPoint / theory) * 1e9 / (1 - warmupFraction);
      const r = runLockMicrobench(
        spec,
        { lock: 'ticket-split', threads: n, criticalSectionNs: s, thinkNs: a, distribution: 'exponential', durationNs, placement: 'compact', warmupFraction },
        `boyd-wickizer/${n}`,
      );
      cache.push({ n, theory, simulated: r.acquisitionsPerSec, acquisitions: r.acquisitions });
    }
    return cache;
  };
})();

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

describe('Boyd-Wickizer closed form', () => {
  it('the linear solve (mathjs) and the product form give the same stationary distribution', () => {
    for (const n of [1, 2, 7, 48, 96]) {
      for (const [think, serial, req] of [[a + c, s + c, c], [1000, 500, 100], [5_000, 5_000, 250]]) {
        const p = { cores: n, thinkNs: think, serialNs: serial, requestNs: req };
        const lin = stationaryDistribution(p);
        const prod = productFormDistribution(p);
        expect(lin).toHaveLength(n + 1);
        expect(Math.abs(lin.reduce((x, y) => x + y, 0) - 1)).toBeLessThan(1e-9);
        for (let k = 0; k <= n; k++) {
          expect(lin[k], `P(${k}) for ${JSON.stringify(p)}`).toBeGreaterThanOrEqual(-1e-12);
          expect(Math.abs(lin[k] - prod[k]), `P(${k}) for ${JSON.stringify(p)}: ${lin[k]} vs ${prod[k]}`).toBeLessThan(1e-9);
        }
      }
    }
  });

  it('the product form stays finite under heavy load (96 cores, think 50 ns, serial 5 us)', () => {
    // The unnormalized weights grow like (a/s)^-k * n!/(n-k)!, beyond float64
    // range here; a correct implementation must still return a distribution.
    const p = { cores: 96, thinkNs: 50, serialNs: 5_000, requestNs: 250 };
    const lin = stationaryDistribution(p);
    const prod = productFormDistribution(p);
    const nonFinite = prod.map((x, k) => [k, x] as const).filter(([, x]) => !Number.isFinite(x));
    expect(nonFinite.slice(0, 3), `${nonFinite.length} non-finite P(k)`).toEqual([]);
    for (let k = 0; k <= p.cores; k++) expect(Math.abs(lin[k] - prod[k]), `P(${k})`).toBeLessThan(1e-9);
  });

  it('one core alone: throughput is 1 / (think + serial + one request)', () => {
    // With n = 1 the chain has two states; the core alternates think (a) and a
    // handoff with k = 1 (s + c/2), so X = 1 / (a + s + c/2).
    const p = { cores: 1, thinkNs: 1000, serialNs: 200, requestNs: 40 };
    expect(throughputPerSec(p)).toBeCloseTo(1e9 / (1000 + 200 + 20), 6);
  });

  it('collapses: the maximum is at an interior N and throughput at 96 cores is at least 10% below it', () => {
    const xs = Array.from({ length: maxCores }, (_, i) => throughputPerSec(theoryParams(i + 1)));
    const max = Math.max(...xs);
    const argmax = xs.indexOf(max) + 1;
    expect(argmax, `peak at N=${argmax}`).toBeGreaterThan(1);
    expect(argmax, `peak at N=${argmax}`).toBeLessThan(maxCores);
    expect(xs[maxCores - 1] / max, `X(96) = ${xs[maxCores - 1].toFixed(0)}/s, max ${max.toFixed(0)}/s at N=${argmax}`).toBeLessThanOrEqual(0.9);
    // Past the knee it only falls.
    for (let n = argmax + 1; n <= maxCores; n++) expect(xs[n - 1]).toBeLessThan(xs[n - 2]);
  });
});

describe('simulated ticket lock vs Boyd-Wickizer', () => {
  it('throughput is within 5% of the closed form at every N from 1 to 96', () => {
    const table = rows();
    const bad = table.filter((r) => Math.abs(r.simulated / r.theory - 1) > 0.05);
    const worst = [...table].sort((x, y) => Math.abs(y.simulated / y.theory - 1) - Math.abs(x.simulated / x.theory - 1)).slice(0, 5);
    const show = (r: Row) => `N=${r.n}: simulated ${r.simulated.toFixed(0)}/s, theory ${r.theory.toFixed(0)}/s (${pct(r.simulated / r.theory - 1)}, ${r.acquisitions} acquisitions)`;
    expect(bad.map(show), `worst: ${worst.map(show).join('; ')}`).toEqual([]);
    // Enough samples everywhere for the noise to be well inside the tolerance.
    for (const r of table) expect(r.acquisitions, `N=${r.n}`).toBeGreaterThan(acquisitionsPerPoint * 0.85);
  });

  it('the simulation shows the same collapse: interior maximum, 96 cores at least 10% below it', () => {
    const table = rows();
    const sim = table.map((r) => r.simulated);
    const max = Math.max(...sim);
    const argmax = sim.indexOf(max) + 1;
    const msg = `simulated peak ${max.toFixed(0)}/s at N=${argmax}, X(96) = ${sim[maxCores - 1].toFixed(0)}/s`;
    expect(argmax, msg).toBeGreaterThan(1);
    expect(argmax, msg).toBeLessThan(maxCores);
    expect(sim[maxCores - 1] / max, msg).toBeLessThanOrEqual(0.9);
  });
});
