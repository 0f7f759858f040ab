// The expedited grace period's idle fast path: a lone unmount waits either
// the fast or the slow length, with a measured share (mechanisms
// rcuExpeditedIdleFast*), and calibrate measures the two modes from the
// single-container runs' umount medians.
import { describe, expect, it } from 'vitest';
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { hostMachineSpec, measuredRcuFastPath, simulateMountstormCalls, withRcuFastPath, type MountstormPoint } from '../src/host/calibrate.ts';
import { loadKernelModel, type KernelModel } from '../src/workload/kernelModel.ts';

const spec = hostMachineSpec(loadHardwareModel('generic-2core'));
const base = loadKernelModel('linux-6.6');
const point = (containers: number): MountstormPoint => ({ file: 't', files: [], variant: 'per-layer-idmap', containers, layers: 10, runsMeanNs: [], opCounts: {}, traces: [] });
const withFast = (share: number, savingNs: number): KernelModel => withRcuFastPath(structuredClone(base) as KernelModel, { share, savingNs, fastNs: 0, slowNs: 0, runMediansNs: [] });

describe('expedited RCU idle fast path', () => {
  const slow = simulateMountstormCalls(spec, base, point(1));
  const baseNs = base.mechanisms.rcuExpeditedBaseNs.value;

  it('a lone launch whose grace periods all take the fast path waits less by the saving on every umount', () => {
    const saving = baseNs - 1000;
    const fast = simulateMountstormCalls(spec, withFast(1, saving), point(1));
    expect(fast.medianCallS['umount']).toBeCloseTo(slow.medianCallS['umount']! - saving * 1e-9, 7);
    expect(fast.meanS).toBeLessThan(slow.meanS);
  });

  it('a share of 0.5 lands between the two, and share 0 changes nothing', () => {
    const saving = baseNs - 1000;
    const all = simulateMountstormCalls(spec, withFast(1, saving), point(1)).meanS;
    const half = simulateMountstormCalls(spec, withFast(0.5, saving), point(1)).meanS;
    expect(half).toBeGreaterThan(all);
    expect(half).toBeLessThan(slow.meanS);
    expect(simulateMountstormCalls(spec, withFast(0, saving), point(1)).meanS).toBe(slow.meanS);
  });

  it('calibrate finds the two modes of the run medians, and none when there is one', () => {
    const f = measuredRcuFastPath([7100, 35000, 6900, 36000, 34000])!;
    expect(f.share).toBeCloseTo(0.4, 12);
    expect(f.fastNs).toBe(7000);
    expect(f.slowNs).toBe(35000);
    expect(f.savingNs).toBe(28000);
    expect(measuredRcuFastPath([31000, 32000, 45000, 36000])).toBeNull();
    expect(measuredRcuFastPath([7000])).toBeNull();
  });

  it('one mode that is clearly fast (under half the contended unmount): every lone run takes the fast path, and the lone umount comes out at its measured median', () => {
    // (Lone medians above this model's umount without its grace period and wake-up, ~8.5 us on generic-2core.)
    const f = measuredRcuFastPath([11800, 12000, 12100, 12200], 47000)!;
    expect(f.allFast).toBe(true);
    expect(f.share).toBe(1);
    expect(f.fastNs).toBe(12050);
    // Not clearly fast against the contended runs (or no contended runs): nothing to say.
    expect(measuredRcuFastPath([31000, 32000, 33000], 47000)).toBeNull();
    expect(measuredRcuFastPath([6800, 7000, 6900])).toBeNull();
    const cpus = spec.layout.core.length;
    const k = withRcuFastPath(structuredClone(base) as KernelModel, f, cpus);
    const lone = simulateMountstormCalls(spec, k, point(1));
    expect(lone.medianCallS['umount']! * 1e9).toBeGreaterThan(0.9 * 12050);
    expect(lone.medianCallS['umount']! * 1e9).toBeLessThan(1.1 * 12050);
    // Without the one-mode case the lone unmount kept the slow grace period.
    expect(slow.medianCallS['umount']!).toBeGreaterThan(1.3 * lone.medianCallS['umount']!);
  });
});
