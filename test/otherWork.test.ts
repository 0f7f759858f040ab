// Other work on a shared machine: runnable tasks the simulator does not model
// thread by thread share the CPUs fairly with the launches
// (host.backgroundRunnable), measured beside each probe run (src/host/hostLoad.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { hostMachineSpec, simulateMountstorm, type MountstormPoint } from '../src/host/calibrate.ts';
import { otherRunnable, procsRunning } from '../src/host/hostLoad.ts';
import { loadKernelModel } from '../src/workload/kernelModel.ts';

const spec = hostMachineSpec(loadHardwareModel('generic-2core'));
const kernel = loadKernelModel('linux-6.6');
const storm = (containers: number, otherRunnable: number): number =>
  simulateMountstorm(spec, kernel, { file: 't', files: [], variant: 'per-layer-idmap', containers, layers: 10, runsMeanNs: [], opCounts: {}, traces: [], otherRunnable } satisfies MountstormPoint);
const work = mkdtempSync(join(tmpdir(), 'locksim-otherwork-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('other runnable work on the machine', () => {
  it('one other task beside one launch takes the idle cpu and slows nothing; more take shares of the launch\'s cpu', () => {
    const alone = storm(1, 0);
    expect(storm(1, 1)).toBe(alone);
    const three = storm(1, 3);
    const nine = storm(1, 9);
    expect(three).toBeGreaterThan(alone * 1.3);
    expect(nine).toBeGreaterThan(three * 1.5);
  });

  it('a storm that already fills the cpus is slowed by the others\' share only (8 launches + 8 others: at most 2x)', () => {
    const alone = storm(8, 0);
    const shared = storm(8, 8);
    expect(shared).toBeGreaterThan(alone * 1.2);
    expect(shared).toBeLessThanOrEqual(alone * 2.05);
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
