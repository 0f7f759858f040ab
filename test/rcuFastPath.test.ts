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
/** The fast path with a measured fast-mode lone umount of `fastUmountNs` (the slow mode's is not used by the model). */
const withFast = (share: number, fastUmountNs: number, warmupGps = 0, k: KernelModel = base, m = spec): KernelModel =>
  withRcuFastPath(structuredClone(k) as KernelModel, { share, fastNs: fastUmountNs, slowNs: 0, runMediansNs: [], warmupGps }, m.layout.core.length, m.wakeupNs, m.wakeAware ? 2_000 : 0);
/** A run of `n` umount calls: `warm` slow ones, then `ns` each. */
const run = (ns: number, n = 20, warm = 0, warmNs = 60_000): number[] => [...Array(warm).fill(warmNs), ...Array(n - warm).fill(ns)];

const slow = simulateMountstormCalls(spec, base, point(1));
const baseNs = base.mechanisms.rcuExpeditedBaseNs.value;
// A fast lone umount well under the slow one (the base grace period alone is 10 us).
const target = slow.medianCallS['umount']! * 1e9 - baseNs + 1000;
const saving = slow.medianCallS['umount']! * 1e9 - target;

describe('expedited RCU idle fast path', () => {


  it('a lone launch whose grace periods all take the fast path takes the measured fast median on every umount', () => {
    const fast = simulateMountstormCalls(spec, withFast(1, target), point(1));
    expect(fast.medianCallS['umount']! * 1e9).toBeCloseTo(target, -2);
    expect(fast.meanS).toBeLessThan(slow.meanS);
  });

  it('a share of 0.5 predicts the mean of a run settled fast and one settled slow, and share 0 changes nothing', () => {
    const all = simulateMountstormCalls(spec, withFast(1, target), point(1)).meanS;
    const half = simulateMountstormCalls(spec, withFast(0.5, target), point(1)).meanS;
    expect(half).toBeCloseTo((all + slow.meanS) / 2, 12);
    expect(simulateMountstormCalls(spec, withFast(0, target), point(1)).meanS).toBe(slow.meanS);
  });

  it('the mode is a state of the run: after the warm-up, every lone grace period of a run takes the same length', async () => {
    const { Machine } = await import('../src/machine.ts');
    const { simulateLaunch } = await import('../src/workload/launch.ts');
    const { probeLaunchParams, traceOf } = await import('../src/host/calibrate.ts');
    const k = withFast(0.5, target, 2);
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
    expect(f.slowNs - f.fastNs).toBe(28000);
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
    it(`a run settled fast has its worker on the caller's CPU and its lone umount at the measured fast median; a slow one has it on the other CPU (futex wait share ${waitShare})`, () => {
      const aware = awareSpec(waitShare);
      const umount = (k: KernelModel) => simulateMountstormCalls(aware, k, point(1)).medianCallS['umount']! * 1e9;
      const slowNs = umount(withFast(0, 12_000, 0, base, aware));
      // (Above the rest of umount and the hand-offs, ~9 us here: a fast grace period is never under 0.5 us.)
      for (const fastNs of [12_000, 20_000]) {
        expect(umount(withFast(1, fastNs, 0, base, aware))).toBeCloseTo(fastNs, -2);
        // The slow mode does not depend on the fast one: caller -> worker and worker -> caller both onto the other, idle CPU.
        expect(umount(withFast(0, fastNs, 0, base, aware))).toBe(slowNs);
      }
      expect(slowNs).toBeGreaterThan(base.mechanisms.rcuExpeditedBaseNs.value + 2 * REMOTE);
    });
  }

  it('in a storm, a run settled fast takes the fast length only while the worker shares its caller\'s CPU (another caller elsewhere waits the slow one, the other CPU idle or not)', async () => {
    const { Machine } = await import('../src/machine.ts');
    const { ExpeditedRcu } = await import('../src/workload/kernelPath.ts');
    const m = new Machine(awareSpec(0), { seed: 'together' });
    const rcu = new ExpeditedRcu(m, 40_000, 0, { ns: 2_000, share: 1, warmup: 0 }, true);
    const waited = new Map<string, number>();
    const cpu = new Map<string, number>();
    const caller = (name: string, workNs: number) => function* (t: import('../src/cpu/thread.ts').SimThread) {
      t.work(workNs);
      yield;
      cpu.set(name, t.lastCpu);
      const start = t.sim.now;
      yield rcu.synchronize(t);
      waited.set(name, t.sim.now - start);
    };
    // a alone: the run settles fast, and its worker joins a's CPU.
    m.spawn('a', caller('a', 5_000));
    // Later a hog takes one CPU and b the other; the hog is done before b asks, so no other CPU is busy then.
    m.sim.schedule(200_000, { fire: () => { m.spawn('hog', function* (t) { t.work(10_000); yield; }); m.spawn('b', caller('b', 50_000)); } });
    m.sim.run();
    if (cpu.get('b') === cpu.get('a')) throw new Error('scenario: b was meant to run on the other CPU than a');
    expect(waited.get('a')!).toBeLessThan(40_000);
    expect(waited.get('b')!).toBeGreaterThanOrEqual(40_000);
  });

  it('without the hardware\'s wakeup section the modes are two grace-period lengths: the difference is the slow umount less the measured fast one', () => {
    const d = simulateMountstormCalls(spec, withFast(0, target), point(1)).medianCallS['umount']! - simulateMountstormCalls(spec, withFast(1, target), point(1)).medianCallS['umount']!;
    expect(d * 1e9).toBeCloseTo(saving, -2);
  });
});

describe('the fast grace period is set from the measured fast unmount, not from the fitted base', () => {
  it('a lone fast unmount takes its measured median whatever rcuExpeditedBaseNs the fit tries (the storms set the base, the lone runs the fast path)', () => {
    for (const factor of [1, 2, 3]) {
      const k = structuredClone(base) as KernelModel;
      k.mechanisms.rcuExpeditedBaseNs = { ...k.mechanisms.rcuExpeditedBaseNs, value: base.mechanisms.rcuExpeditedBaseNs.value * factor };
      const lone = simulateMountstormCalls(spec, withFast(1, 9_000, 0, k), point(1)).medianCallS['umount']! * 1e9;
      expect(lone).toBeCloseTo(9_000, -2);
    }
  });
});
