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
});
