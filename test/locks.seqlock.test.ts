import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Machine, type MachineSpec } from '../src/machine.ts';
import { handMadeSpec } from './helpers/machines.ts';
import { ThreadState, type SimThread } from '../src/cpu/thread.ts';
import { callback } from '../src/engine/simulator.ts';
import { makeSpinLock, type SpinLockKind } from '../src/locks/spinlock.ts';
import { SeqLock } from '../src/locks/seqlock.ts';

const spec = handMadeSpec;

const MESH4 = spec('mesh', 1, 4, 1);
const CHIPLET4 = spec('chiplet', 1, 4, 2);
const TWO_SOCKET_SMT = spec('mesh', 2, 2, 1, 2);
const KINDS: SpinLockKind[] = ['tas', 'ttas', 'ticket', 'ticket-split', 'qspinlock'];

describe('spinlocks placed in a given cache line', () => {
  it('every kind uses the line it is given, and a line of its own otherwise', () => {
    const m = new Machine(MESH4, { seed: 's' });
    for (const kind of KINDS) {
      const shared = m.coherence.newLine('shared');
      const inShared = makeSpinLock(kind, kind, m.coherence, shared) as unknown as { line: unknown };
      const own = makeSpinLock(kind, kind, m.coherence) as unknown as { line: unknown };
      expect(inShared.line).toBe(shared);
      expect(own.line).not.toBe(shared);
    }
  });

  it('a seqlock keeps its spinlock and its sequence on one line', () => {
    const m = new Machine(MESH4, { seed: 's' });
    const sl = new SeqLock('mount_lock', m.coherence);
    expect((sl.lock as unknown as { line: unknown }).line).toBe(sl.line);
  });
});

/** Writers and readers hammering one seqlock; every body checks the invariants at every step. */
function storm(machine: MachineSpec, kind: SpinLockKind, writers: number, readers: number, seed: string, durationNs = 200_000) {
  const m = new Machine(machine, { seed });
  const sl = new SeqLock('mount_lock', m.coherence, kind);
  let inside: SimThread | null = null;
  let writeSections = 0;
  const writeIntervals: [number, number][] = [];
  let readResults = 0;
  for (let i = 0; i < writers; i++) {
    m.spawn(`w${i}`, function* (t) {
      for (;;) {
        t.work(t.rng.exponential(2_000));
        yield;
        yield* sl.writeLock(t);
        expect(inside).toBeNull();
        expect(sl.writing).toBe(true);
        inside = t;
        const from = t.sim.now;
        t.work(t.rng.exponential(500));
        yield;
        expect(inside).toBe(t);
        inside = null;
        writeSections++;
        writeIntervals.push([from, t.sim.now]);
        yield* sl.writeUnlock(t);
      }
    });
  }
  for (let i = 0; i < readers; i++) {
    m.spawn(`r${i}`, function* (t) {
      for (;;) {
        const seq = yield* sl.readBegin(t);
        // read_seqbegin never hands out an odd sequence, nor returns while a writer is inside.
        expect(seq % 2).toBe(0);
        expect(sl.writing).toBe(false);
        const begun = t.sim.now;
        t.work(t.rng.exponential(300));
        yield;
        const moved = yield* sl.readRetry(t, seq);
        // A write section that started inside our read section must make us retry.
        const overlapped = writeIntervals.some(([from]) => from > begun && from < t.sim.now);
        if (overlapped) expect(moved).toBe(true);
        // A writer inside right now has made the sequence odd.
        if (sl.writing) expect(moved).toBe(true);
        readResults++;
      }
    });
  }
  m.sim.run(durationNs);
  return { stats: { ...sl.stats }, writeSections, readResults };
}

describe('SeqLock', () => {
  it('lets one writer in at a time and readers never see an odd sequence, for every spinlock kind and fabric', () => {
    for (const machine of [MESH4, CHIPLET4, TWO_SOCKET_SMT]) {
      for (const kind of KINDS) {
        const r = storm(machine, kind, 2, 2, `${machine.name}/${kind}`, 100_000);
        expect(r.writeSections).toBeGreaterThan(10);
        expect(r.readResults).toBeGreaterThan(10);
        expect(r.stats.writerAcquisitions).toBeGreaterThanOrEqual(r.writeSections);
      }
    }
  });

  it('keeps writers exclusive over random seeds and thread counts (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 3 }), fc.string({ maxLength: 6 }), (writers, readers, seed) => {
        const machine = writers + readers > 4 ? TWO_SOCKET_SMT : CHIPLET4;
        const r = storm(machine, 'qspinlock', writers, readers, seed, 60_000);
        expect(r.writeSections).toBeGreaterThan(0);
      }),
      { numRuns: 25 },
    );
  });

  it('makes a reader retry when a writer ran during its read section, and not otherwise', () => {
    const m = new Machine(MESH4, { seed: 'retry' });
    const sl = new SeqLock('mount_lock', m.coherence);
    const retries: Record<string, number> = {};
    // The reader's section is 10 us long; the writer enters 2 us into it.
    m.spawn('reader', function* (t) {
      retries.first = yield* sl.read(t, 10_000);
      // Alone now: a second read goes through at once.
      retries.second = yield* sl.read(t, 10_000);
    });
    m.spawn('writer', function* (t) {
      t.work(2_000);
      yield;
      yield* sl.writeLock(t);
      t.work(500);
      yield;
      yield* sl.writeUnlock(t);
    });
    m.sim.run();
    expect(retries.first).toBe(1);
    expect(retries.second).toBe(0);
    expect(sl.stats.readerRetries).toBe(1);
    expect(sl.stats.writerAcquisitions).toBe(1);
  });

  it('makes readers spin on their CPU while a writer holds it', () => {
    const m = new Machine(MESH4, { seed: 'spin' });
    const sl = new SeqLock('mount_lock', m.coherence);
    const spinning = m.activities.id('path_init;mount_lock;spin');
    const holdNs = 50_000;
    let readerDone = -1;
    let unlockedAt = -1;
    m.spawn('writer', function* (t) {
      yield* sl.writeLock(t);
      t.work(holdNs);
      yield;
      unlockedAt = t.sim.now;
      yield* sl.writeUnlock(t);
    });
    const reader = m.spawn('reader', function* (t) {
      t.work(1_000);
      yield;
      t.doing(spinning);
      yield* sl.readBegin(t);
      t.doing(m.ledger.idle);
      readerDone = t.sim.now;
    });
    // Half-way through the write section the reader is on its CPU, not asleep.
    let midState = -1;
    let midOnCpu = false;
    m.sim.schedule(holdNs / 2, callback(() => {
      midState = reader.state;
      midOnCpu = reader.cpu >= 0 && m.scheduler.threadOn(reader.cpu) === reader;
    }));
    m.sim.run();
    expect(midState).toBe(ThreadState.Running);
    expect(midOnCpu).toBe(true);
    expect(readerDone).toBeGreaterThanOrEqual(unlockedAt);
    expect(sl.stats.readerSpins).toBe(1);
    // It spun for about the rest of the write section, all of it on its CPU.
    expect(sl.stats.readerSpinNs).toBeGreaterThan(holdNs - 2_000);
    m.ledger.flush(m.sim.now);
    const row = m.ledger.totals().find((r) => r.name === 'path_init;mount_lock;spin')!;
    expect(row.onCpuNs).toBeGreaterThan(holdNs - 2_000);
    expect(row.offCpuNs).toBe(0);
  });

  it('gives the same statistics for the same seed', () => {
    const a = storm(CHIPLET4, 'qspinlock', 2, 2, 'same', 80_000);
    const b = storm(CHIPLET4, 'qspinlock', 2, 2, 'same', 80_000);
    expect(a).toEqual(b);
  });
});
