// locksim plan: bad plan files are one located InputError; the t interval is
// the textbook one; a small plan gives the same bytes on 1 and 2 workers, its
// seeds are the documented derivation, its answers follow from its own points
// (largest safe burst, cost formula, ranking), and alternatives appear only
// where the change exists on the machine.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../src/config/errors.ts';
import { pointSeed } from '../src/config/points.ts';
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { meanInterval, tQuantile } from '../src/plan/confidence.ts';
import { loadPlan } from '../src/plan/planSchema.ts';
import { runPlan, pointKey, type PlanResult } from '../src/plan/plan.ts';
import { planJson, planTable } from '../src/plan/format.ts';

const dir = mkdtempSync(join(tmpdir(), 'locksim-plan-test-'));
function planFile(name: string, text: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, text);
  return file;
}

const goodHead = `name: t
workload: { variant: per-layer-idmap, layers: 3 }
burst: 4
objective: { p99LaunchS: 1 }
search: { bursts: [2, 4] }
`;

describe('bad plan files', () => {
  // [name, text, line, column, field, start of the expectation]; positions counted by hand in the text.
  const cases: [string, string, number, number, string, string][] = [
    // `nosuch` starts at column 5 of line 7 ("  - nosuch")
    ['unknown model', goodHead + 'candidates:\n  - nosuch\n', 7, 5, 'candidates[0]', 'one of c5.metal'],
    // m7a.24xlarge has one thread per core; the value `true` is at column 33 of "  - { model: m7a.24xlarge, smt: true }"
    ['smt on a machine without SMT', goodHead + 'candidates:\n  - { model: m7a.24xlarge, smt: true }\n', 7, 33, 'candidates[0].smt', 'false or no smt field'],
    // `burts` is the key at column 11 of "search: { burts: [2] }" on line 5
    ['misspelt search', goodHead.replace('search: { bursts: [2, 4] }', 'search: { burts: [2] }') + 'candidates: [r5.metal]\n', 5, 11, 'search.burts', 'one of the fields bursts, bisect, got an unknown field'],
    // low 50 >= high 20; the check points at low's value, column 26 of "search: { bisect: { low: 50, high: 20 } }"
    ['bisect bounds reversed', goodHead.replace('search: { bursts: [2, 4] }', 'search: { bisect: { low: 50, high: 20 } }') + 'candidates: [r5.metal]\n', 5, 26, 'search.bisect.low', 'a number below high (20), got 50'],
    // the second item of `[r5.metal, r5.metal]` starts at column 24 of line 6
    ['duplicate candidate', goodHead + 'candidates: [r5.metal, r5.metal]\n', 6, 24, 'candidates[1]', 'a candidate not given before (candidates[0] is the same)'],
    // `linux-9` starts at column 58 of line 2
    ['unknown kernel', goodHead.replace('layers: 3 }', 'layers: 3, kernel: linux-9 }') + 'candidates: [r5.metal]\n', 2, 58, 'workload.kernel', 'one of linux-6.6'],
    ['confidence not offered', goodHead + 'confidence: 0.8\ncandidates: [r5.metal]\n', 6, 13, 'confidence', 'one of 0.9, 0.95, 0.99, got 0.8'],
    ['no candidates', goodHead + 'candidates: []\n', 6, 13, 'candidates', 'a list of at least 1 item'],
    // `50` is at column 46 of "search: { bisect: { low: 10, high: 20, step: 50 } }"
    ['step larger than the range', goodHead.replace('search: { bursts: [2, 4] }', 'search: { bisect: { low: 10, high: 20, step: 50 } }') + 'candidates: [r5.metal]\n', 5, 46, 'search.bisect.step', 'a step no larger than high - low (10), got 50'],
  ];
  for (const [name, text, line, column, field, expected] of cases) {
    it(`${name}: ${field} at ${line}:${column}`, () => {
      const file = planFile(name.replace(/\W+/g, '-'), text);
      let err: unknown;
      try {
        loadPlan(file);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      const msg = (err as InputError).message;
      expect(msg.startsWith(`${file}:${line}:${column}: ${field}: expected ${expected}`), msg).toBe(true);
      expect(msg).not.toContain('\n');
    });
  }
});

describe('confidence interval', () => {
  it('uses Student t with R-1 degrees of freedom: 4.303 for 3 runs at 95%', () => {
    expect(tQuantile(0.95, 2)).toBe(4.303);
    // [1, 2, 3]: mean 2, sample sd 1, half width 4.303 / sqrt(3)
    const i = meanInterval([1, 2, 3], 0.95);
    expect(i.mean).toBe(2);
    expect(i.hi - i.mean).toBeCloseTo(4.303 / Math.sqrt(3), 10);
    expect(i.mean - i.lo).toBeCloseTo(4.303 / Math.sqrt(3), 10);
  });
  it('approaches the normal quantile for many degrees of freedom and joins the table smoothly', () => {
    expect(tQuantile(0.95, 10_000)).toBeCloseTo(1.96, 3);
    // the expansion at 31 df must continue the table's 2.042 at 30 df downwards
    expect(tQuantile(0.95, 31)).toBeLessThan(2.042);
    expect(tQuantile(0.95, 31)).toBeGreaterThan(2.03);
  });
  it('has no width with one replication', () => {
    expect(meanInterval([5], 0.95)).toEqual({ mean: 5, lo: 5, hi: 5, n: 1 });
  });
});

describe('a small plan', () => {
  // Small enough for the unit group: 3-layer images, bursts of at most 16.
  const text = `name: small
seed: 5
workload: { variant: per-layer-idmap, layers: 3 }
burst: 8
objective: { p99LaunchS: 0.25, successRate: 0.99 }
search: { bisect: { low: 4, high: 64, step: 16 } }
replications: 2
candidates:
  - r5.metal
  - { model: m7a.24xlarge, label: amd }
`;
  let one: PlanResult;
  let two: PlanResult;
  let file: string;
  beforeAll(async () => {
    file = planFile('small', text);
    one = await runPlan(loadPlan(file), { workers: 1 });
    two = await runPlan(loadPlan(file), { workers: 2 });
  }, 120_000);

  it('gives identical bytes on 1 and 2 workers', () => {
    expect(planJson(two)).toBe(planJson(one));
    expect(planTable(two)).toBe(planTable(one));
  });

  it('seeds each point from the plan seed and its key, and each replication differently', () => {
    for (const p of one.points) expect(p.seed).toBe(pointSeed(5, p.key));
    const reps = one.points.filter((p) => p.key.startsWith('r5.metal | runtime=per-layer-idmap|containers=8|'));
    expect(reps.map((p) => p.key.split('|rep=')[1]).sort()).toEqual(['0', '1']);
    expect(new Set(reps.map((p) => p.seed)).size).toBe(2);
  });

  it('reports as largest safe burst one that meets the objective, bounded by one that fails within the step', () => {
    for (const c of one.candidates) {
      const s = c.largestSafeBurst;
      expect(s.method).toBe('bisect');
      const checked = new Map(s.checked.map((x) => [x.burst, x]));
      if (s.bound === 'exact') {
        expect(checked.get(s.value!)!.holds).toBe(true);
        const failing = s.checked.filter((x) => !x.holds && x.burst > s.value!).map((x) => x.burst);
        expect(Math.min(...failing) - s.value!).toBeLessThanOrEqual(16);
      } else if (s.bound === 'at-least') expect(s.value).toBe(64);
      else expect(checked.get(4)!.holds).toBe(false);
      // the objective's definition: the p99 interval's upper end within the target, success at least 99%
      for (const x of s.checked) expect(x.holds).toBe(x.p99HiS <= 0.25 && x.successRate >= 0.99);
    }
  });

  it('computes the cost per 1,000 launches from the price and the simulated time of each replication', () => {
    const r5 = one.candidates.find((c) => c.label === 'r5.metal')!;
    const price = loadHardwareModel('r5.metal').price!.usdPerHour.value;
    expect(r5.usdPerHour).toBe(price);
    const reps = [0, 1].map((rep) => one.points.find((p) => p.key === pointKey({ machine: { model: 'r5.metal' }, modelRef: 'r5.metal', runtime: 'per-layer-idmap' }, 8, rep))!);
    const perRep = reps.map((p) => (price * p.simulatedS) / 3600 / (8 * p.successRate) * 1000);
    expect(r5.atBurst.costPer1000Usd!.mean).toBeCloseTo((perRep[0]! + perRep[1]!) / 2, 12);
  });

  it('ranks candidates by mean p99 at the burst, and alternatives by p99 improvement', () => {
    const p99 = (label: string) => one.candidates.find((c) => c.label === label)!.atBurst.p99S.mean;
    expect(p99(one.ranking[0]!)).toBeLessThanOrEqual(p99(one.ranking[1]!));
    for (const c of one.candidates) {
      const imp = c.alternatives.map((a) => a.p99Improvement);
      expect(imp).toEqual([...imp].sort((a, b) => b - a));
      for (const a of c.alternatives) expect(a.p99Improvement).toBeCloseTo((c.atBurst.p99S.mean - a.atBurst.p99S.mean) / c.atBurst.p99S.mean, 12);
    }
  });

  it('offers only the changes that exist: no HT off on a machine without SMT, one socket only on two', () => {
    const kinds = (label: string) => one.candidates.find((c) => c.label === label)!.alternatives.map((a) => a.kind).sort();
    expect(kinds('r5.metal')).toEqual(['instance', 'one-socket', 'runtime-fix', 'runtime-fix', 'smt-off']);
    expect(kinds('amd')).toEqual(['instance', 'runtime-fix', 'runtime-fix']);
  });

  it('names each runtime fix by the containerd releases that carry it', () => {
    const fixes = one.candidates[0]!.alternatives.filter((a) => a.kind === 'runtime-fix').map((a) => a.change).sort();
    expect(fixes).toEqual(['runtime fix: common-parent (containerd 2.0.7, 2.1.5, 2.2)', 'runtime fix: common-parent-one-pass (containerd 2.3)']);
  });

  it('gives containers per dollar-hour as the largest safe burst over the hourly price', () => {
    for (const c of one.candidates) {
      if (c.largestSafeBurst.value === null) expect(c.containersPerDollarHour).toBeNull();
      else expect(c.containersPerDollarHour).toBeCloseTo(c.largestSafeBurst.value / c.usdPerHour!, 2);
    }
    expect(planTable(one)).toMatch(/\$\/hour/);
    expect(planTable(one)).toContain(`$${loadHardwareModel('r5.metal').price!.usdPerHour.value.toFixed(3)}`);
  });

  it('bisects a listed search too: every machine gets a number and the interval it lies in, whatever the list', async () => {
    // The list [16, 32] says nothing about where r5 and m7a cross a tight objective; the answer must still be a number.
    const listed = loadPlan(planFile('listed', text.replace('bisect: { low: 4, high: 64, step: 16 }', 'bursts: [16, 32]').replace('p99LaunchS: 0.25', 'p99LaunchS: 0.05').replace('replications: 2', 'replications: 1')));
    const r = await runPlan({ ...listed, alternatives: { runtimeFix: false, smtOff: false, oneSocket: false, otherCandidates: false } }, { workers: 1 });
    for (const c of r.candidates) {
      const s = c.largestSafeBurst;
      expect(s.method).toBe('list');
      const at = new Map(s.checked.map((x) => [x.burst, x.holds]));
      if (s.value === null) {
        expect(s.failsAt).toBe(1);
        expect(at.get(1)).toBe(false);
        continue;
      }
      expect(at.get(s.value)).toBe(true);
      if (s.bound === 'at-least') {
        expect(s.value).toBe(128);
        continue;
      }
      expect(at.get(s.failsAt!)).toBe(false);
      expect(s.failsAt! - s.value).toBeLessThanOrEqual(Math.max(1, Math.ceil(s.failsAt! * 0.05)));
      // Not just a listed burst: the search went between or below them.
      expect([16, 32]).not.toContain(s.value);
    }
  }, 120_000);

  it('offers no runtime fix when the workload already mounts the common parent', async () => {
    const fixed = loadPlan(planFile('fixed', text.replace('per-layer-idmap', 'common-parent').replace('bisect: { low: 4, high: 64, step: 16 }', 'bursts: [4]').replace('  - { model: m7a.24xlarge, label: amd }\n', '').replace('replications: 2', 'replications: 1')));
    const r = await runPlan({ ...fixed, alternatives: { ...fixed.alternatives, smtOff: false, oneSocket: false } }, { workers: 1 });
    expect(r.candidates[0]!.alternatives).toEqual([]);
  });
});
