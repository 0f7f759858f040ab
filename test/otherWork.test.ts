// Other work on a shared machine: runnable tasks the simulator does not model
// thread by thread (launch host.backgroundRunnable, measured beside each probe
// run by src/host/hostLoad.ts) make a woken thread sometimes wait for a CPU
// (kernel model host.otherWorkWake*).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { hostMachineSpec, measuredOtherWorkWake, simulateMountstorm, type MountstormPoint } from '../src/host/calibrate.ts';
import { otherRunnable, procsRunning } from '../src/host/hostLoad.ts';
import { loadKernelModel, type KernelModel } from '../src/workload/kernelModel.ts';

const spec = hostMachineSpec(loadHardwareModel('generic-2core'));
const kernel = loadKernelModel('linux-6.6');
const work = mkdtempSync(join(tmpdir(), 'locksim-otherwork-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('other runnable work on the machine', () => {
  const withWake = (share: number, waitNs: number): KernelModel => {
    const k = structuredClone(kernel) as KernelModel;
    k.host.otherWorkWakeShare = { value: share, source: 'test' };
    k.host.otherWorkWakeWaitNs = { value: waitNs, source: 'test' };
    return k;
  };
  const storm = (k: KernelModel, containers: number, otherRunnable: number): number =>
    simulateMountstorm(spec, k, { file: 't', files: [], variant: 'per-layer-idmap', containers, layers: 10, runsMeanNs: [], opCounts: {}, traces: [], otherRunnable } satisfies MountstormPoint);

  it('woken threads wait behind other work: slower with more of it, unchanged without it or without the measured wait', () => {
    const k = withWake(0.05, 2_000_000);
    const alone = storm(kernel, 1, 0);
    expect(storm(k, 1, 0)).toBe(alone);
    expect(storm(kernel, 1, 10)).toBe(alone);
    const ten = storm(k, 1, 10);
    const thirty = storm(k, 1, 30);
    // 20 unmounts, each waiting 2 ms on average with probability 0.5 (10 others; 1 with 30): ~20 ms more.
    expect(ten).toBeGreaterThan(alone + 5e-3);
    expect(thirty).toBeGreaterThan(alone + 20e-3);
  });

  it('storms wait too (every wake-up from a grace period or a rw-semaphore)', () => {
    const k = withWake(0.05, 2_000_000);
    expect(storm(k, 8, 10)).toBeGreaterThan(storm(kernel, 8, 10) * 1.2);
  });

  it('counts runnable tasks from /proc/stat, leaving out the reader', async () => {
    expect(procsRunning('cpu  1 2 3\nprocs_running 7\nprocs_blocked 0\n')).toBe(7);
    expect(procsRunning('cpu  1 2 3\n')).toBeNull();
    const stat = join(work, 'stat');
    writeFileSync(stat, 'procs_running 5\n');
    expect(await otherRunnable(3, 1, stat)).toBe(4);
    expect(await otherRunnable(3, 1, join(work, 'missing'))).toBeNull();
  });
});

describe('calibrate measures the wait behind other work from lone unmounts', () => {
  // A single-container trace with 20 umounts of 35 us, `long` of them 2 ms.
  const trace = (name: string, long: number): string => {
    const lines = [JSON.stringify({ format: 'locksim-trace', version: 1, source: 'measured', containers: [{ id: 'c1', layers: 20, start_ns: 0 }] })];
    let t = 0;
    for (let i = 0; i < 20; i++) {
      const dur = i < long ? 2_035_000 : 35_000;
      lines.push(JSON.stringify({ container: 'c1', op: 'umount', pass: 1, layer: i, start_ns: t, dur_ns: dur }));
      t += dur + 1000;
    }
    const f = join(work, name);
    writeFileSync(f, lines.join('\n') + '\n');
    return f;
  };
  const point = (traces: string[], otherRunnable: number, containers = 1): MountstormPoint => ({ file: 'p', files: ['p'], variant: 'per-layer-idmap', containers, layers: 20, runsMeanNs: traces.map(() => 1), opCounts: {}, traces, otherRunnable });

  it('share = long waits per unmount per other task, wait = their mean excess over the run median', () => {
    const w = measuredOtherWorkWake([point([trace('a.jsonl', 2), trace('b.jsonl', 0)], 10)])!;
    expect(w.longWaits).toBe(2);
    expect(w.umounts).toBe(40);
    expect(w.share).toBeCloseTo(2 / (40 * 10), 12);
    expect(w.waitNs).toBeCloseTo(2_000_000, 6);
  });

  it('nothing without other work, without long waits, or from storms (their waits include the storm\'s own)', () => {
    expect(measuredOtherWorkWake([point([trace('c.jsonl', 2)], 0)])).toBeNull();
    expect(measuredOtherWorkWake([point([trace('d.jsonl', 0)], 10)])).toBeNull();
    expect(measuredOtherWorkWake([point([trace('e.jsonl', 2)], 10, 4)])).toBeNull();
  });
});
