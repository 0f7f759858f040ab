/**
 * Work the engine does without events (issue 14), each against the result it
 * must keep: an L1 hit runs on the thread's own clock, consecutive CPU pieces
 * are one event with each piece's time still in the ledger (also across a
 * preemption), a spinner learns that its lock's owner left the CPU from
 * the owner, not by polling, and a call the thread runs (`yield callee`)
 * returns like a `yield*`.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../src/machine.ts';
import { handMadeSpec } from './helpers/machines.ts';
import { Simulator, callback } from '../src/engine/simulator.ts';
import { RwSemaphore } from '../src/locks/rwsem.ts';
import type { SimThread, Steps } from '../src/cpu/thread.ts';
import { KernelMountPath } from '../src/workload/kernelPath.ts';
import { loadKernelModel } from '../src/workload/kernelModel.ts';

const MESH4 = handMadeSpec('mesh', 1, 4, 1);

describe('L1 hits', () => {
  it('with inline hits on, cost no event: the hit latency runs on the thread clock and delays its next wait', () => {
    const m = new Machine(MESH4, { seed: 'hits' });
    m.coherence.maxInlineHits = 16; // off by default (coherence.ts)
    const line = m.coherence.newLine('x');
    const waited: boolean[] = [];
    let afterHits = 0;
    let eventsBefore = 0;
    let eventsAfter = 0;
    let missDone = 0;
    m.spawn('t', function* (t) {
      if (m.coherence.rmw(t, line)) yield; // from memory: a miss
      missDone = t.sim.now;
      eventsBefore = m.sim.eventsFired;
      for (let i = 0; i < 10; i++) waited.push(m.coherence.rmw(t, line));
      afterHits = t.localNow;
      eventsAfter = m.sim.eventsFired;
      t.work(100);
      yield;
    });
    m.sim.run();
    expect(waited).toEqual(new Array(10).fill(false));
    expect(eventsAfter).toBe(eventsBefore);
    expect(afterHits).toBe(missDone + 10 * MESH4.latencies.hit);
    // The work starts once the hits are done: it ends 10 hits + 100 ns after the miss.
    expect(m.sim.now).toBe(missDone + 10 * MESH4.latencies.hit + 100);
    expect(m.coherence.stats.hits).toBe(10);
  });

  it('are bounded: a loop of hits alone still lets time pass (and by default every hit is an event)', () => {
    for (const inline of [16, 0]) {
      const m = new Machine(MESH4, { seed: 'hit-loop' });
      m.coherence.maxInlineHits = inline;
      const line = m.coherence.newLine('x');
      let n = 0;
      m.spawn('t', function* (t) {
        for (;;) {
          if (m.coherence.rmw(t, line)) yield;
          n++;
        }
      });
      m.sim.run(1_000);
      // ~1 ns a hit: about a thousand hits in 1 us, however many run inline.
      expect(n).toBeGreaterThan(900);
      expect(n).toBeLessThan(1_100);
    }
  });

  it('a publish is seen from the writer clock (hits before it count)', () => {
    const m = new Machine(MESH4, { seed: 'publish-lag' });
    m.coherence.maxInlineHits = 16;
    const line = m.coherence.newLine('flag');
    let flag = 0;
    let seenAt = -1;
    let wroteAt = -1;
    m.spawn('writer', function* (t) {
      if (m.coherence.rmw(t, line)) yield;
      t.work(1_000);
      yield;
      for (let i = 0; i < 5; i++) if (m.coherence.rmw(t, line)) yield;
      flag = 1;
      wroteAt = t.localNow;
      m.coherence.publish(t, line);
    });
    m.spawn('reader', function* (t) {
      while (flag === 0) {
        m.coherence.watch(t, line);
        yield;
      }
      seenAt = t.sim.now;
    });
    m.sim.run();
    expect(wroteAt).toBeGreaterThan(0);
    expect(seenAt).toBeGreaterThanOrEqual(wroteAt);
    expect(seenAt).toBeLessThan(wroteAt + MESH4.pauseNs);
  });
});

describe('consecutive CPU pieces', () => {
  it('are one event, each piece keeping its time in the ledger', () => {
    // With the clock advance (test/clockAdvance.test.ts) a lone thread's work
    // is no event at all; without it, the three pieces are one.
    for (const advance of [false, true]) {
      Simulator.advanceByDefault = advance;
      const m = new Machine(MESH4, { seed: 'pieces' });
      Simulator.advanceByDefault = true;
      const a = m.activities.id('a'), b = m.activities.id('b'), c = m.activities.id('c');
      let events = 0;
      m.spawn('t', function* (t) {
        const before = m.sim.eventsFired;
        t.workPieces([100, 250, 400], [a, b, c]);
        yield;
        events = m.sim.eventsFired - before;
      });
      m.sim.run();
      m.ledger.flush(m.sim.now);
      expect(events).toBe(advance ? 0 : 1);
      const on = (id: number) => m.ledger.onCpu[id];
      expect([on(a), on(b), on(c)]).toEqual([100, 250, 400]);
    }
  });

  it('keep each piece its time when the work is preempted in the middle of a piece', () => {
    // One CPU, two threads in user mode: 1 ms slices cut the pieces.
    const m = new Machine({ ...handMadeSpec('mesh', 1, 1, 1), quantumNs: 1_000_000, contextSwitchNs: 0, wakeupNs: 0 }, { seed: 'pieces-preempted' });
    const a = m.activities.id('a'), b = m.activities.id('b'), c = m.activities.id('c'), other = m.activities.id('other');
    m.spawn('pieces', function* (t) {
      t.workPieces([1_500_000, 700_000, 1_200_000], [a, b, c]);
      yield;
    });
    m.spawn('other', function* (t) {
      t.doing(other);
      t.work(2_500_000);
      yield;
    });
    m.sim.run();
    m.ledger.flush(m.sim.now);
    expect(m.scheduler.cpus).toBe(1);
    expect(m.ledger.onCpu[a]).toBeCloseTo(1_500_000, 3);
    expect(m.ledger.onCpu[b]).toBeCloseTo(700_000, 3);
    expect(m.ledger.onCpu[c]).toBeCloseTo(1_200_000, 3);
    // It was preempted: time waiting for the CPU is off-CPU time of the piece it was in.
    expect(m.ledger.offCpu[a] + m.ledger.offCpu[b] + m.ledger.offCpu[c]).toBeGreaterThan(0);
  });
});

describe('optimistic spinning on a writer', () => {
  /** A writer that arrives 0.5 us in, while the holder owns the semaphore: it spins on the owner. */
  const writerAfter500ns = (sem: RwSemaphore) =>
    function* (t: SimThread) {
      t.work(500);
      yield;
      yield* sem.downWrite(t);
      yield* sem.upWrite(t);
    };
  it('costs no timer per owner check: events stay few however long the owner runs', () => {
    const eventsFor = (holdNs: number) => {
      const m = new Machine(MESH4, { seed: 'owner-runs' });
      const sem = new RwSemaphore('namespace_sem', m.coherence, { spinLimitNs: 10_000_000 });
      m.spawn('holder', function* (t) {
        yield* sem.downWrite(t);
        t.work(holdNs);
        yield;
        yield* sem.upWrite(t);
      });
      m.spawn('spinner', writerAfter500ns(sem));
      m.sim.run();
      expect(sem.stats.spinAcquisitions).toBe(1);
      return m.sim.eventsFired;
    };
    // A 1 us owner check would add ~1,000 events per ms of hold.
    expect(eventsFor(2_000_000) - eventsFor(20_000)).toBeLessThan(5);
  });

  it('ends at the first owner check after the owner sleeps', () => {
    const m = new Machine(MESH4, { seed: 'owner-sleeps-check' });
    const sem = new RwSemaphore('namespace_sem', m.coherence, { spinLimitNs: 10_000_000, ownerCheckNs: 1_000 });
    let slept = 0;
    const holder = m.spawn('holder', function* (t) {
      yield* sem.downWrite(t);
      t.work(50_000);
      yield;
      slept = t.sim.now;
      m.sim.schedule(100_000, callback(() => holder.wake()));
      t.sleep();
      yield;
      yield* sem.upWrite(t);
    });
    m.spawn('spinner', writerAfter500ns(sem));
    m.sim.run();
    expect(sem.stats.sleeps.write).toBe(1);
    // Spinning began after 0.5 us of work and a line transfer or two; it ends
    // at most one check (1 us) after the owner slept, and not before.
    const transfers = 2 * MESH4.latencies.sameL3;
    expect(sem.stats.spinNs).toBeGreaterThan(slept - 500 - transfers);
    expect(sem.stats.spinNs).toBeLessThan(slept - 500 + 1_000 + transfers);
  });
});

describe('calls run by the thread (yield callee instead of yield*)', () => {
  it('return their value to the caller, however deep', () => {
    const m = new Machine(MESH4, { seed: 'calls' });
    const seen: number[] = [];
    function* leaf(t: SimThread, x: number): Steps<number> {
      t.work(10);
      yield;
      return x * 2;
    }
    function* middle(t: SimThread, x: number): Steps<number> {
      const a = (yield leaf(t, x)) as number;
      const b = yield* leaf(t, a); // both styles mix
      return a + b;
    }
    m.spawn('t', function* (t) {
      seen.push((yield middle(t, 1)) as number);
      seen.push((yield middle(t, 5)) as number);
    });
    m.sim.run();
    expect(seen).toEqual([2 + 4, 10 + 20]);
    expect(m.sim.now).toBe(40);
  });

  it('keep the totals their callers add after them (path walks retried while other threads wrote)', () => {
    // Eight threads mounting at once: path walks retry because writers move
    // mount_lock's sequence; each retry is counted once by the mount path.
    const m = new Machine(handMadeSpec('mesh', 1, 8, 1), { seed: 'retries' });
    const path = new KernelMountPath(m, loadKernelModel('linux-6.6'), 40);
    for (let i = 0; i < 8; i++) {
      m.spawn(`c${i}`, function* (t) {
        for (let n = 0; n < 20; n++) {
          yield path.syscall(t, 'containerd', 'open_tree', 1);
          yield path.syscall(t, 'containerd', 'move_mount', 1);
        }
      });
    }
    m.sim.run();
    expect(path.mountLock.stats.readerRetries).toBeGreaterThan(0);
    expect(path.pathRetries).toBe(path.mountLock.stats.readerRetries);
    expect(path.pathLookups).toBe(path.mountLock.stats.readerBegins - path.mountLock.stats.readerRetries);
  });
});
