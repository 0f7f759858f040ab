/**
 * A line changes hands when the request's snoop reaches the core that holds
 * it, halfway through the transfer, not when the data reaches the requester
 * (CoherenceFabric.snoopShare, docs/model.md section 4). And the lock
 * microbenchmark's own clock reads (MicrobenchParams.timing).
 */
import { describe, expect, it } from 'vitest';
import { runLockMicrobench, type MicrobenchParams } from '../src/bench/lockMicrobench.ts';
import { Machine, type MachineSpec } from '../src/machine.ts';
import { handMadeSpec } from './helpers/machines.ts';

/** Two cores of one CCX, a 40 ns transfer and a short pause. */
const twoCores: MachineSpec = { ...handMadeSpec('chiplet', 1, 2, 1), latencies: { hit: 1, smtSibling: 8, sameL3: 40, crossL3: 100, crossSocket: 135 }, pauseNs: 1 };

const noSection: MicrobenchParams = { lock: 'ttas', threads: 2, criticalSectionNs: 0, thinkNs: 0, distribution: 'fixed', durationNs: 400_000, placement: 'spread' };

describe('the snoop takes the line from its holder before the data arrives', () => {
  it('a holder re-taking its lock in a loop hits only until the other core\'s snoop arrives, not for the whole transfer', () => {
    // Acquisitions per transfer time, averaged over transfers of 20-60 ns (a
    // fixed-length loop locks into phase with the transfer, so one latency
    // alone can land on either side).
    const perTransfer = (snoopShare: number) => {
      let sum = 0, n = 0;
      for (let L = 20; L <= 60; L += 4) {
        const spec = { ...twoCores, latencies: { ...twoCores.latencies, sameL3: L }, snoopShare };
        sum += runLockMicrobench(spec, { ...noSection, durationNs: 200_000 }, 'snoop').acquisitionsPerSec * L * 1e-9;
        n++;
      }
      return sum / n;
    };
    const atSnoop = perTransfer(0.5);
    const atFill = perTransfer(1);
    // Handing over at the fill lets the holder hit for the whole transfer (~7 per transfer here); at the snoop, for about half of it.
    expect(atSnoop / atFill).toBeLessThan(0.8);
  });

  it('a read takes the owner\'s exclusivity at the snoop: a write of the owner between snoop and fill waits for the reader\'s fill', () => {
    const writeDone = (snoopShare: number) => {
      const m = new Machine({ ...twoCores, snoopShare }, { seed: 'read' });
      const line = m.coherence.newLine('l');
      let done = NaN;
      m.spawn('owner', function* (t) {
        if (m.coherence.rmw(t, line)) yield; // exclusively, from memory: at 40
        t.work(45);
        yield;
        if (m.coherence.rmw(t, line)) yield; // at 85: the reader's snoop came at 80, its data comes at 100
        done = t.localNow;
      });
      m.spawn('reader', function* (t) {
        t.work(60);
        yield;
        if (m.coherence.load(t, line)) yield;
      });
      m.sim.run(1_000);
      return done;
    };
    // The owner's write misses and waits for the CCX's fill in flight (the
    // reader's, at 100); its request has been on its way to the L3 since 85
    // (15 of the 20 ns to the snoop), so 25 ns are left of its transfer.
    expect(writeDone(0.5)).toBe(125);
    // Handed over only at the fill, the owner was still exclusive at 85: a hit.
    expect(writeDone(1)).toBe(86);
  });
});

describe('the probe\'s clock reads', () => {
  it('one acquisition in sampleEvery is timed: two clock reads more, one of them inside the critical section', () => {
    const one: MicrobenchParams = { ...noSection, threads: 1 };
    const bare = runLockMicrobench(twoCores, one, 'timing').acquisitionsPerSec;
    const timed = runLockMicrobench(twoCores, { ...one, timing: { sampleEvery: 16, clockReadNs: 20 } }, 'timing').acquisitionsPerSec;
    // Alone, an acquisition is two L1 hits (load, exchange; the release is a
    // store the thread does not wait for): 2 ns; 16 of them and two 20 ns reads take 72 ns.
    expect(bare * 2e-9).toBeCloseTo(1, 2);
    expect(timed * 72e-9 / 16).toBeCloseTo(1, 2);
  });
});
