/**
 * The lock microbenchmark (the blog's pause_bench, Fig 10): N threads, each
 * pinned to its own logical CPU where there are enough, loop forever over
 * think -> acquire one global lock -> critical section -> release.
 * Reported per point: acquisitions per second, and the latency of each
 * acquisition (from wanting the lock to holding it).
 */
import { Machine, type MachineSpec } from '../machine.ts';
import type { Placement } from '../cpu/scheduler.ts';
import { makeSpinLock, type SpinLockKind } from '../locks/spinlock.ts';
import { Samples, mean, percentile } from './stats.ts';

export interface MicrobenchParams {
  lock: SpinLockKind;
  threads: number;
  criticalSectionNs: number;
  thinkNs: number;
  distribution: 'fixed' | 'exponential';
  durationNs: number;
  placement: Placement;
  /** Share of the run discarded before measuring (start-up transient). */
  warmupFraction?: number;
  /**
   * The data the lock protects, written by the holder at the start of each
   * critical section: none (default), on the lock's own cache line
   * (`same-line`: false sharing; the write takes the line back from the
   * spinners polling it, who re-read it, and the release takes it back again),
   * or on a line of its own (`own-line`: it moves from holder to holder).
   */
  data?: LockData;
  /**
   * The probe's own clock reads (probes/lockbench.c): every `sampleEvery`-th
   * acquisition of a thread is timed, one clock read (`clockReadNs`) before
   * it tries and one once it holds the lock, so that critical section is one
   * clock read longer. Absent: no timing (the blog's pause_bench model). With
   * no critical section these reads are most of the time the lock is held.
   */
  timing?: ProbeTiming;
}

export interface ProbeTiming {
  sampleEvery: number;
  clockReadNs: number;
  /**
   * The rest of each iteration of the probe's loop, ns, outside the lock's
   * cache accesses (which the fabric charges as hits when uncontended): the
   * locked exchange's own latency, the loop's bookkeeping. The probe measures
   * a whole uncontended iteration (`iterationNs`); the calibration gives the
   * part the simulation does not already charge (simulateLockbench). It
   * decides how many acquisitions a holder makes while the line stays in its
   * cache when there is no critical section. Absent: 0.
   */
  loopNs?: number;
}

export type LockData = 'none' | 'same-line' | 'own-line';

export interface MicrobenchResult {
  acquisitionsPerSec: number;
  latencyMeanNs: number;
  latencyP50Ns: number;
  latencyP95Ns: number;
  latencyP99Ns: number;
  acquisitions: number;
  events: number;
  /** Share of fabric requests that missed (needed a transfer). */
  missRatio: number;
  /** Mean time a miss waited in a fabric queue before service, ns. */
  queueWaitNs: number;
}

export function runLockMicrobench(spec: MachineSpec, p: MicrobenchParams, seed: string): MicrobenchResult {
  const m = new Machine(spec, { seed, placement: p.placement });
  const lock = makeSpinLock(p.lock, 'global_lock', m.coherence);
  const warmup = p.durationNs * (p.warmupFraction ?? 0.1);
  const latencies = new Samples();
  let acquisitions = 0;
  const draw = (t: { rng: { exponential(m: number): number } }, meanNs: number) =>
    meanNs <= 0 ? 0 : p.distribution === 'exponential' ? t.rng.exponential(meanNs) : meanNs;
  const acquiring = m.activities.id('microbench;lock;spin');
  const inside = m.activities.id('microbench;lock;critical_section');
  const thinking = m.activities.id('microbench;think');
  const timing = p.timing && p.timing.clockReadNs > 0 ? p.timing : null;
  const loopNs = p.timing?.loopNs ?? 0;
  const dataLine = p.data === 'same-line' ? lock.line : p.data === 'own-line' ? m.coherence.newLine('protected_data') : null;
  const dataWrite = dataLine ? { line: dataLine, stored() {} } : null;

  // Threads that got a CPU at least once. With more threads than cpus a short
  // run may never schedule some of them: their waits are not in the samples,
  // so the latency of the others would pass for the latency of all (a million
  // threads on 2 cpus looked like 8). Such a point's latency is undefined.
  let ran = 0;
  for (let i = 0; i < p.threads; i++) {
    m.spawn(`worker${i}`, function* (t) {
      ran++;
      let n = 0;
      for (;;) {
        const timed = timing !== null && n++ % timing.sampleEvery === 0;
        const think = draw(t, p.thinkNs);
        if (think > 0) {
          t.doing(thinking);
          t.work(think);
          yield;
        }
        if (timed) {
          t.doing(thinking);
          t.work(timing.clockReadNs);
          yield;
        }
        if (loopNs > 0) {
          t.doing(thinking);
          t.work(loopNs);
          yield;
        }
        const start = t.localNow;
        t.doing(acquiring);
        yield lock.acquire(t);
        if (start >= warmup) {
          latencies.push(t.localNow - start);
          acquisitions++;
        }
        t.doing(inside);
        if (timed) {
          t.work(timing.clockReadNs);
          yield;
        }
        if (dataWrite) {
          // The increment of the protected counter (the probe's `lock.same_line++` on a volatile): a load, then a
          // plain store. The load needs the line: on the lock's own line the next owner's request, waiting at
          // this core, takes it right after the exchange, and the holder waits for it to come back (false
          // sharing). The store takes the line exclusively when it leaves the store buffer; spinners watching
          // it see a change and re-read.
          if (m.coherence.load(t, dataWrite.line)) yield;
          if (m.coherence.store(t, dataWrite)) yield;
        }
        const cs = draw(t, p.criticalSectionNs);
        if (cs > 0) {
          t.work(cs);
          yield;
        }
        yield lock.release(t);
      }
    });
  }
  m.sim.run(p.durationNs);
  const sorted = latencies.sorted();
  const st = m.coherence.settledStats();
  const allRan = ran === p.threads;
  return {
    acquisitionsPerSec: acquisitions / ((p.durationNs - warmup) / 1e9),
    latencyMeanNs: allRan ? mean(sorted) : NaN,
    latencyP50Ns: allRan ? percentile(sorted, 50) : NaN,
    latencyP95Ns: allRan ? percentile(sorted, 95) : NaN,
    latencyP99Ns: allRan ? percentile(sorted, 99) : NaN,
    acquisitions,
    events: m.sim.eventsFired,
    missRatio: st.misses / Math.max(1, st.hits + st.misses),
    queueWaitNs: st.misses ? st.queueWaitNs / st.misses : 0,
  };
}
