// The data a lock protects, in the lock microbenchmark (`--data` of the probe
// and of `predict lockbench`): the holder increments a counter on the lock's
// own cache line (false sharing) or on a line of its own. The increment is a
// load and a plain store (probes/lockbench.c: `lock.same_line++` on a
// volatile). The load needs the line: on the lock's line, the next owner's
// request takes it right after the holder's exchange, and the holder waits
// for it to come back; on its own line, the counter is wherever the previous
// holder left it. The store goes to the store buffer (CoherenceFabric.store).
import { describe, expect, it } from 'vitest';
import { runLockMicrobench, type LockData } from '../src/bench/lockMicrobench.ts';
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { buildTopology } from '../src/hardware/topology.ts';
import { machineSpecFromTopology } from '../src/hardware/machineSpec.ts';
import { simulateLockbench, type LockbenchPoint } from '../src/host/calibrate.ts';
import { handMadeSpec } from './helpers/machines.ts';

const run = (hw: string, threads: number, cs: number, data: LockData, lock: 'ttas' | 'ticket' = 'ttas') =>
  runLockMicrobench(machineSpecFromTopology(buildTopology(loadHardwareModel(hw), {})), { lock, threads, criticalSectionNs: cs, thinkNs: 0, distribution: 'fixed', durationNs: 2e6, placement: 'spread', data }, 's');

describe('protected data in the lock microbenchmark', () => {
  // Known gap (an expected failure: it passes once the model gets this regime
  // right). With no critical section the holder re-takes its lock every ~30 ns
  // and the spinner's reads land at any point of that loop. With every
  // transfer exactly its latency the model's bursts there were chaotic in the
  // transfer (a ratio of 0.64-1.46 for 140-200 ns); with transfers varying as
  // this guest's probe measures (coreToCore.jitterCv 0.01-0.05, here 0.03)
  // and an exchange of a line held shared charged two transfers as AMD hosts
  // are calibrated (sharedRmwTransfers) the ratio is smooth but 0.76-0.84:
  // without data 33-35 M/s (31.6-31.9 measured in w64 and w66), with the
  // counter on the lock's line 26-28 M/s (28.3-30.5 measured), while the fixed probe (its pages written before the run) measured the
  // counter on the lock's line at 0.99 (w60) and 0.92 (w61) of the throughput
  // without it at the far placement (224-246 ns), 0.79 at the near one (w62,
  // 28-31 ns). (The 0.71-0.85 of w16-w20 had the probe's page faults in it.)
  it.fails('KNOWN GAP: with no critical section, the counter on the lock\'s line costs what the probe measures at the far placement (0.85-1.05 of the throughput without it)', () => {
    for (const transferNs of [140, 170, 200]) {
      const s = handMadeSpec('chiplet', 1, 2, 2);
      const spec = { ...s, latencies: { ...s.latencies, crossL3: transferNs, jitterCv: 0.03, sharedRmw: 2 }, pauseNs: 19 };
      const point = (data?: 'same-line'): LockbenchPoint => ({ files: [], lock: 'ttas', threads: 2, csNs: 0, thinkNs: 0, runsPerSec: [], clockReadNs: 27.5, sampleEvery: 16, iterationNs: 6, ...(data ? { data } : {}) });
      const ratio = simulateLockbench(spec, point('same-line')) / simulateLockbench(spec, point());
      expect(ratio, `${transferNs} ns`).toBeGreaterThan(0.85);
      expect(ratio, `${transferNs} ns`).toBeLessThan(1.05);
    }
  });

  it('data on its own line moves with the lock: each holder reads it from the previous one, a transfer inside every critical section', () => {
    // A ticket lock hands over at every release (FIFO), so every critical
    // section begins on another core. (A TTAS holder mostly takes its lock
    // back, its release still in its store buffer, and keeps the data.)
    const none = run('r5.metal', 2, 50, 'none', 'ticket'), own = run('r5.metal', 2, 50, 'own-line', 'ticket');
    expect(own.acquisitionsPerSec).toBeLessThan(0.8 * none.acquisitionsPerSec);
  });

  it('long critical sections hide the counter on the lock\'s line: within 3% at 200 ns', () => {
    const none = run('r5.metal', 8, 200, 'none'), same = run('r5.metal', 8, 200, 'same-line');
    expect(Math.abs(same.acquisitionsPerSec / none.acquisitionsPerSec - 1)).toBeLessThan(0.03);
  });
});
