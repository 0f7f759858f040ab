// The expedited grace period's idle fast path: a lone unmount waits either
// the fast or the slow length, a state of the run after a slow warm-up, with
// a measured share of runs (mechanisms rcuExpeditedIdleFast*,
// rcuExpeditedIdleWarmupGps), and calibrate measures the two modes from the
// single-container runs' umount calls.
import { describe, expect, it } from 'vitest';
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { hostMachineSpec, measuredRcuFastPath, simulateMountstormCalls, withRcuFastPath, type MountstormPoint } from '../src/host/calibrate.ts';
import { loadKernelModel, type KernelModel } from '../src/workload/kernelModel.ts';

const spec = hostMachineSpec(loadHardwareModel('generic-2core'));
const base = loadKernelModel('linux-6.6');
const point = (containers: number): MountstormPoint => ({ file: 't', files: [], variant: 'per-layer-idmap', containers, layers: 10, runsMeanNs: [], opCounts: {}, traces: [] });
const withFast = (share: number, savingNs: number, warmupGps = 0): KernelModel => withRcuFastPath(structuredClone(base) as KernelModel, { share, savingNs, fastNs: 0, slowNs: 0, runMediansNs: [], warmupGps });
/** A run of `n` umount calls: `warm` slow ones, then `ns` each. */
const run = (ns: number, n = 20, warm = 0, warmNs = 60_000): number[] => [...Array(warm).fill(warmNs), ...Array(n - warm).fill(ns)];

describe('expedited RCU idle fast path', () => {
  const slow = simulateMountstormCalls(spec, base, point(1));
  const baseNs = base.mechanisms.rcuExpeditedBaseNs.value;

  it('a lone launch whose grace periods all take the fast path waits less by the saving on every umount', () => {
    const saving = baseNs - 1000;
    const fast = simulateMountstormCalls(spec, withFast(1, saving), point(1));
    expect(fast.medianCallS['umount']).toBeCloseTo(slow.medianCallS['umount']! - saving * 1e-9, 7);
    expect(fast.meanS).toBeLessThan(slow.meanS);
  });

  it('a share of 0.5 predicts the mean of a run settled fast and one settled slow, and share 0 changes nothing', () => {
    const saving = baseNs - 1000;
    const all = simulateMountstormCalls(spec, withFast(1, saving), point(1)).meanS;
    const half = simulateMountstormCalls(spec, withFast(0.5, saving), point(1)).meanS;
    expect(half).toBeCloseTo((all + slow.meanS) / 2, 12);
    expect(simulateMountstormCalls(spec, withFast(0, saving), point(1)).meanS).toBe(slow.meanS);
  });

  it('the mode is a state of the run: after the warm-up, every lone grace period of a run takes the same length', async () => {
    const { Machine } = await import('../src/machine.ts');
    const { simulateLaunch } = await import('../src/workload/launch.ts');
    const { probeLaunchParams, traceOf } = await import('../src/host/calibrate.ts');
    const saving = baseNs - 1000;
    const k = withFast(0.5, saving, 2);
    const p = point(1);
    const kinds = new Set<string>();
    for (const seed of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) {
      const r = simulateLaunch(new Machine(spec, { seed }), k, probeLaunchParams(p), traceOf(p), { recordOpDurations: true });
      const u = r.opDurations!['umount']!;
      const rest = u.slice(2);
      // The warm-up: the first two are slow in every run (at least as long as the settled ones, fast or slow).
      expect(Math.min(u[0]!, u[1]!)).toBeGreaterThan(Math.max(...rest) - saving / 2);
      const spread = Math.max(...rest) - Math.min(...rest);
      expect(spread).toBeLessThan(saving / 2);
      kinds.add(Math.min(...rest) < u[0]! - saving / 2 ? 'fast' : 'slow');
    }
    // Eight runs at share 0.5: both kinds of run occur.
    expect([...kinds].sort()).toEqual(['fast', 'slow']);
  });

  it('calibrate finds the two modes of the settled runs, the share of runs in each and the warm-up; none when there is one', () => {
    const f = measuredRcuFastPath([run(7100, 20, 2), run(35000), run(6900, 100, 3), run(36000, 20, 1), run(34000, 100, 1)])!;
    expect(f.share).toBeCloseTo(0.4, 12);
    expect(f.fastNs).toBe(7000);
    expect(f.slowNs).toBe(35000);
    expect(f.savingNs).toBe(28000);
    expect(f.warmupGps).toBe(3); // median of 2 and 3, rounded
    // Runs too short to settle (a handful of calls, all warm-up) say nothing about the share.
    expect(measuredRcuFastPath([run(7100, 20, 2), run(35000), run(36000, 4), run(37000, 4)])!.share).toBe(0.5);
    expect(measuredRcuFastPath([run(31000), run(32000), run(45000), run(36000)])).toBeNull();
    expect(measuredRcuFastPath([run(7000)])).toBeNull();
  });

  it('one mode that is clearly fast (under half the contended unmount): every lone run takes the fast path, and the lone umount comes out at its measured median', () => {
    // (Lone medians above this model's umount without its grace period and wake-up, ~8.5 us on generic-2core.)
    const f = measuredRcuFastPath([run(11800), run(12000), run(12100), run(12200)], 47000)!;
    expect(f.allFast).toBe(true);
    expect(f.share).toBe(1);
    expect(f.fastNs).toBe(12050);
    // Not clearly fast against the contended runs (or no contended runs): nothing to say.
    expect(measuredRcuFastPath([run(31000), run(32000), run(33000)], 47000)).toBeNull();
    expect(measuredRcuFastPath([run(6800), run(7000), run(6900)])).toBeNull();
    const cpus = spec.layout.core.length;
    const k = withRcuFastPath(structuredClone(base) as KernelModel, f, cpus);
    const lone = simulateMountstormCalls(spec, k, point(1));
    expect(lone.medianCallS['umount']! * 1e9).toBeGreaterThan(0.9 * 12050);
    expect(lone.medianCallS['umount']! * 1e9).toBeLessThan(1.1 * 12050);
    // Without the one-mode case the lone unmount kept the slow grace period.
    expect(slow.medianCallS['umount']!).toBeGreaterThan(1.3 * lone.medianCallS['umount']!);
  });
});

describe('the lone grace period\'s two modes when wake-ups know their waker (hardware wakeup)', () => {
  const LOCAL = 3_000;
  const REMOTE = 12_000;
  /** A 2-CPU machine whose futex wake-ups stay on a busy waker's CPU with `waitShare` (the fast mode must not depend on it). */
  const awareSpec = (waitShare: number) => {
    const hw = structuredClone(loadHardwareModel('generic-2core'));
    hw.wakeup = { localNs: { value: LOCAL, source: 't' }, remoteNs: { value: REMOTE, source: 't' }, waitOnPreviousShare: { value: waitShare, source: 't' }, preemptShare: { value: 1, source: 't' } };
    return hostMachineSpec(hw);
  };

  for (const waitShare of [1, 0]) {
    it(`a run settled fast has its worker on the caller's CPU, a slow one on the other: they differ by the saving and the wake-ups across CPUs (futex wait share ${waitShare})`, () => {
      const aware = awareSpec(waitShare);
      const umount = (k: KernelModel) => simulateMountstormCalls(aware, k, point(1)).medianCallS['umount']!;
      const baseNs = base.mechanisms.rcuExpeditedBaseNs.value;
      for (const saving of [baseNs / 2, baseNs - 1000]) {
        const diff = (umount(withFast(0, saving)) - umount(withFast(1, saving))) * 1e9;
        // Slow: caller -> worker and worker -> caller both onto the other, idle CPU (2 x REMOTE).
        // Fast: the worker is woken on the caller's CPU (LOCAL) and the caller runs after the worker sleeps (a context switch).
        const ctx = 2_000;
        expect(diff).toBeCloseTo(saving + 2 * REMOTE - LOCAL - ctx, -2);
      }
    });
  }

  it('without the hardware\'s wakeup section the modes are two grace-period lengths: the difference is the saving', () => {
    const saving = base.mechanisms.rcuExpeditedBaseNs.value / 2;
    const d = simulateMountstormCalls(spec, withFast(0, saving), point(1)).medianCallS['umount']! - simulateMountstormCalls(spec, withFast(1, saving), point(1)).medianCallS['umount']!;
    expect(d * 1e9).toBeCloseTo(saving, -1);
  });
});

describe('calibrate splits a measured slow-fast saving when wake-ups know their waker', () => {
  it('the wake-ups across CPUs take their part of the saving; the fast grace period keeps the rest, and never goes below none of it', () => {
    const baseNs = base.mechanisms.rcuExpeditedBaseNs.value;
    const fast = (saving: number, across: number) =>
      withRcuFastPath(structuredClone(base) as KernelModel, { share: 0.5, savingNs: saving, fastNs: 0, slowNs: 0, runMediansNs: [], warmupGps: 0, allFast: false }, 2, 3_000, across).mechanisms.rcuExpeditedIdleFastNs!.value;
    const saving = baseNs - 2_000;
    expect(fast(saving, 0)).toBe(baseNs - saving);
    expect(fast(saving, saving / 2)).toBe(baseNs - saving / 2);
    // Wake-ups costing more than the whole saving: the fast grace period is the base.
    expect(fast(saving, saving + 5_000)).toBe(baseNs);
  });
});
