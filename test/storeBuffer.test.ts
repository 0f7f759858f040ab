/**
 * A plain store (a spinlock's release, `smp_store_release`; the end of a
 * seqcount's write section) goes to the core's store buffer: the thread goes
 * on at once and the store becomes visible when its line is held exclusively
 * (CoherenceFabric.store, docs/model.md section 4). And a request that waited
 * behind its CCX's fill is answered right after that fill.
 */
import { describe, expect, it } from 'vitest';
import { Machine, type MachineSpec } from '../src/machine.ts';
import type { CacheLine, StoreWrite } from '../src/hardware/coherence.ts';
import type { SimThread } from '../src/cpu/thread.ts';
import { handMadeSpec } from './helpers/machines.ts';

/** Two cores of one CCX, a 40 ns transfer, a short pause. */
const twoCores: MachineSpec = { ...handMadeSpec('chiplet', 1, 2, 1), latencies: { hit: 1, smtSibling: 8, sameL3: 40, crossL3: 100, crossSocket: 135 }, pauseNs: 1 };

/** A flag on `line` written by plain stores; `seenAt`: when it became visible. */
function flag(line: CacheLine) {
  const f = { value: 0, seenAt: NaN, line, stored: (_t: SimThread) => void f.value++, visible: (at: number) => void (f.seenAt = at) } satisfies StoreWrite & Record<string, unknown>;
  return f;
}

/** The other core reads `line` at 10 (a shared copy there), so a store of core 0 at 60 needs the line back: a 40 ns transfer. */
function withReader(m: Machine, line: CacheLine): void {
  m.spawn('reader', function* (t) {
    t.work(10);
    yield;
    if (m.coherence.load(t, line)) yield;
  });
}

describe('a plain store', () => {
  it('does not stall its thread: the next work starts at once, and the store is visible a transfer later', () => {
    const m = new Machine(twoCores, { seed: 'sb' });
    const line = m.coherence.newLine('l');
    const f = flag(line);
    let nextWorkAt = NaN;
    m.spawn('writer', function* (t) {
      if (m.coherence.rmw(t, line)) yield; // from memory, exclusively: done at 40
      t.work(20);
      yield; // 60: the reader's copy (snooped at 30, filled at 50) made ours shared
      expect(m.coherence.store(t, f)).toBe(false);
      nextWorkAt = t.localNow;
    });
    withReader(m, line);
    m.sim.run(1_000);
    expect(f.value).toBe(1);
    expect(nextWorkAt).toBe(60);
    expect(f.seenAt).toBe(100);
  });

  it('an atomic of the same thread waits for it (a locked instruction drains the buffer); a load of its line reads it at once', () => {
    const m = new Machine(twoCores, { seed: 'sb' });
    const line = m.coherence.newLine('l'), other = m.coherence.newLine('o');
    const f = flag(line);
    let loadedAt = NaN, atomicDoneAt = NaN;
    m.spawn('writer', function* (t) {
      if (m.coherence.rmw(t, other)) yield; // 40: `other` is ours
      if (m.coherence.rmw(t, line)) yield; // 80
      t.work(20);
      yield; // 100: the reader's copy (it read at 90... see below) is not there yet: still exclusive
      m.coherence.store(t, f);
      if (m.coherence.load(t, line)) yield;
      loadedAt = t.localNow;
      if (m.coherence.rmw(t, other)) yield; // a hit on `other`, but only once the store is visible
      atomicDoneAt = t.localNow;
    });
    m.spawn('reader', function* (t) {
      t.work(85);
      yield;
      if (m.coherence.load(t, line)) yield; // snoops the writer at 105... after the writer's store at 100
    });
    m.sim.run(1_000);
    // The store at 100 hit (the line still exclusive): visible at once, no wait anywhere.
    expect(f.seenAt).toBe(100);
    expect(loadedAt).toBe(101);
    expect(atomicDoneAt).toBe(102);
  });

  it('a store that misses: the load of its line is forwarded, the atomic after it waits for the fill', () => {
    const m = new Machine(twoCores, { seed: 'sb' });
    const line = m.coherence.newLine('l'), other = m.coherence.newLine('o');
    const f = flag(line);
    let loadedAt = NaN, atomicDoneAt = NaN;
    m.spawn('writer', function* (t) {
      if (m.coherence.rmw(t, other)) yield; // 40
      t.work(20);
      yield; // 60; the reader took `line` from memory at 10-50
      m.coherence.store(t, f); // a miss: visible at 100
      if (m.coherence.load(t, line)) yield; // forwarded: 1 ns
      loadedAt = t.localNow;
      if (m.coherence.rmw(t, other)) yield; // waits for the store, then hits
      atomicDoneAt = t.localNow;
    });
    withReader(m, line);
    m.sim.run(1_000);
    expect(loadedAt).toBe(61);
    expect(f.seenAt).toBe(100);
    expect(atomicDoneAt).toBe(101);
  });

  it('two stores to one line leave the buffer together: one transfer, both visible at its fill; to another line, the second waits', () => {
    const run = (sameLine: boolean) => {
      const m = new Machine(twoCores, { seed: 'sb' });
      const line = m.coherence.newLine('l');
      const second = sameLine ? line : m.coherence.newLine('l2');
      const a = flag(line), b = flag(second);
      let doneAt = NaN;
      m.spawn('writer', function* (t) {
        t.work(60);
        yield;
        if (m.coherence.store(t, a)) yield; // a miss (the reader holds `line`): visible at 100
        if (m.coherence.store(t, b)) yield;
        doneAt = t.localNow;
      });
      withReader(m, line);
      m.sim.run(1_000);
      return { doneAt, a: a.seenAt, b: b.seenAt };
    };
    expect(run(true)).toEqual({ doneAt: 60, a: 100, b: 100 });
    // `l2` is in memory: its store waits for the first to be visible (stores leave in order), then misses.
    expect(run(false)).toEqual({ doneAt: 100, a: 100, b: 140 });
  });
});
