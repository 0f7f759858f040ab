// The data a lock protects, in the lock microbenchmark (`--data` of the probe
// and of `predict lockbench`): on the lock's own cache line the holder's write
// takes the line back from the waiters polling it (false sharing); on a line
// of its own the data moves from holder to holder. Without the write in the
// critical section all three placements would run alike.
import { describe, expect, it } from 'vitest';
import { runLockMicrobench, type LockData } from '../src/bench/lockMicrobench.ts';
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { buildTopology } from '../src/hardware/topology.ts';
import { machineSpecFromTopology } from '../src/hardware/machineSpec.ts';

const run = (hw: string, threads: number, cs: number, data: LockData) =>
  runLockMicrobench(machineSpecFromTopology(buildTopology(loadHardwareModel(hw), {})), { lock: 'ttas', threads, criticalSectionNs: cs, thinkNs: 0, distribution: 'fixed', durationNs: 2e6, placement: 'spread', data }, 's');

describe('protected data in the lock microbenchmark', () => {
  it('short critical sections: data on the lock line costs throughput, data on its own line costs more (it moves with the lock)', () => {
    for (const [hw, threads] of [['generic-2core', 2], ['r5.metal', 8]] as const) {
      const none = run(hw, threads, 0, 'none'), same = run(hw, threads, 0, 'same-line'), own = run(hw, threads, 0, 'own-line');
      expect(same.acquisitionsPerSec, hw).toBeLessThan(0.9 * none.acquisitionsPerSec);
      expect(own.acquisitionsPerSec, hw).toBeLessThan(same.acquisitionsPerSec);
    }
  });

  it('long critical sections hide it: within 3% at 200 ns', () => {
    const none = run('r5.metal', 8, 200, 'none'), same = run('r5.metal', 8, 200, 'same-line');
    expect(Math.abs(same.acquisitionsPerSec / none.acquisitionsPerSec - 1)).toBeLessThan(0.03);
  });
});
