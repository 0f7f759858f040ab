/**
 * The clock advance (issue 14; docs/architecture.md, "Speed"): a thread
 * whose step ends the current event and whose next wake would be the next
 * event delivered moves the clock instead of scheduling that event
 * (Simulator.advance, SimThread.advanceFor). Every result must be the same
 * as with every wait an event (`Simulator.advanceByDefault = false`); only
 * the event count drops.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Simulator, callback } from '../src/engine/simulator.ts';
import { Machine } from '../src/machine.ts';
import { handMadeSpec } from './helpers/machines.ts';
import { SeqLock } from '../src/locks/seqlock.ts';
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { buildTopology } from '../src/hardware/topology.ts';
import { machineSpecFromTopology } from '../src/hardware/machineSpec.ts';
import { loadKernelModel } from '../src/workload/kernelModel.ts';
import { buildLaunchTrace, simulateLaunch } from '../src/workload/launch.ts';
import { launchSchema } from '../src/workload/launchParams.ts';
import { runLockMicrobench } from '../src/bench/lockMicrobench.ts';

afterEach(() => {
  Simulator.advanceByDefault = true;
});

/** Run `fn` with the clock advance on and off; returns both results. */
function bothWays<T>(fn: () => T): { on: T; off: T } {
  Simulator.advanceByDefault = true;
  const on = fn();
  Simulator.advanceByDefault = false;
  const off = fn();
  Simulator.advanceByDefault = true;
  return { on, off };
}

describe('Simulator.advance', () => {
  it('moves the clock only when no event is due before (or at) the new time, within the run', () => {
    const sim = new Simulator();
    const seen: [number, boolean, number][] = [];
    sim.schedule(100, callback(() => {
      // The event at 150 is due: 40 ns on is fine, 50 ns is not (scheduled first, it goes first), 60 ns neither.
      seen.push([40, sim.advance(40), sim.now]);
      seen.push([10, sim.advance(10), sim.now]);
      seen.push([60, sim.advance(60), sim.now]);
    }));
    sim.schedule(150, callback(() => {
      // Nothing left in the heap: only the run's `until` (200) bounds it.
      seen.push([60, sim.advance(60), sim.now]);
      seen.push([40, sim.advance(40), sim.now]);
      seen.push([1, sim.advance(1), sim.now]);
    }));
    sim.run(200);
    expect(seen).toEqual([
      [40, true, 140], [10, false, 140], [60, false, 140],
      [60, false, 150], [40, true, 190], [1, true, 191],
    ]);
    // Outside a run nothing may move the clock.
    expect(sim.advance(1)).toBe(false);
  });

  it('does not move after stop() or when switched off', () => {
    const sim = new Simulator();
    let moved = true;
    sim.schedule(5, callback(() => {
      sim.stop();
      moved = sim.advance(1);
    }));
    sim.run();
    expect(moved).toBe(false);
    const off = new Simulator();
    off.advancing = false;
    off.schedule(5, callback(() => (moved = off.advance(1))));
    off.run();
    expect(moved).toBe(false);
  });
});

describe('threads skip the events of waits nobody can interleave with', () => {
  it('a lone thread doing work and L1 hits: the same times, no event per step', () => {
    const run = () => {
      const m = new Machine(handMadeSpec('mesh', 1, 2, 1), { seed: 's', placement: 'spread' });
      const line = m.coherence.newLine('x');
      const times: number[] = [];
      m.spawn('a', function* (t) {
        for (let i = 0; i < 50; i++) {
          t.work(100 + i);
          yield;
          if (m.coherence.rmw(t, line)) yield; // a miss the first time, then hits
          times.push(t.sim.now);
        }
      });
      m.sim.run();
      return { times, events: m.sim.eventsFired };
    };
    const { on, off } = bothWays(run);
    expect(on.times).toEqual(off.times);
    expect(off.events).toBeGreaterThanOrEqual(100);
    // A slice timer of the scheduler may stay in the heap; the steps themselves take none.
    expect(on.events).toBeLessThan(10);
  });

  it('an uncontended miss served at once is filled without an event when its fill would be the next one', () => {
    const run = () => {
      const m = new Machine(handMadeSpec('mesh', 1, 4, 1), { seed: 's', placement: 'spread' });
      const line = m.coherence.newLine('x');
      const log: string[] = [];
      for (const [name, offset] of [['a', 0], ['b', 500]] as const) {
        m.spawn(name, function* (t) {
          t.work(offset);
          yield;
          for (let i = 0; i < 20; i++) {
            if (m.coherence.rmw(t, line)) yield; // the other one wrote it last: a miss
            m.coherence.publish(t, line);
            log.push(`${name}${i}@${t.sim.now}`);
            t.work(1_000);
            yield;
          }
        });
      }
      m.sim.run();
      return { log, events: m.sim.eventsFired, misses: m.coherence.stats.misses, missWaitNs: m.coherence.stats.missWaitNs };
    };
    const { on, off } = bothWays(run);
    expect(on.log).toEqual(off.log);
    expect(on.misses).toBe(off.misses);
    expect(on.missWaitNs).toBe(off.missWaitNs);
    expect(on.misses).toBeGreaterThanOrEqual(39);
    // Each thread's works meet the other's events (they alternate), but no fill is one.
    expect(off.events - on.events).toBeGreaterThanOrEqual(39);
  });

  it('only the thread whose step ends the event moves the clock: a handler that goes on after waking a thread sees its own time', () => {
    const m = new Machine(handMadeSpec('mesh', 1, 2, 1), { seed: 's', placement: 'spread' });
    const seen: number[] = [];
    const a = m.spawn('a', function* (t) {
      yield; // waits for the handler's wake (a spinner told of a change)
      t.work(500);
      yield;
      seen.push(t.sim.now);
    });
    m.sim.schedule(1_000, { fire: () => {
      a.wake();
      // The rest of this event happens at 1000 ns, not after a's work.
      seen.push(m.sim.now);
    } });
    m.sim.run();
    expect(seen).toEqual([1_000, 1_500]);
  });

  it('two threads: a wake due before the other thread\'s next event is kept, so they interleave as before', () => {
    const run = () => {
      const m = new Machine(handMadeSpec('mesh', 1, 4, 1), { seed: 's', placement: 'spread' });
      const sl = new SeqLock('mount_lock', m.coherence);
      const log: string[] = [];
      m.spawn('writer', function* (t) {
        for (let i = 0; i < 20; i++) {
          yield* sl.writeLock(t);
          t.work(70);
          yield;
          yield* sl.writeUnlock(t);
          log.push(`w${i}@${t.sim.now}`);
          t.work(130);
          yield;
        }
      });
      m.spawn('reader', function* (t) {
        for (let i = 0; i < 30; i++) {
          const retries = (yield sl.read(t, 90)) as number;
          log.push(`r${i}:${retries}@${t.sim.now}`);
        }
      });
      m.sim.run();
      return { log, events: m.sim.eventsFired };
    };
    const { on, off } = bothWays(run);
    expect(on.log).toEqual(off.log);
    expect(on.events).toBeLessThan(off.events);
  });
});

describe('whole simulations: every metric the same but the event count', () => {
  it('launch points (r5.metal 20 x 20, m7a.24xlarge 10 x 20)', () => {
    for (const [model, k, l] of [['r5.metal', 20, 20], ['m7a.24xlarge', 10, 20]] as const) {
      const spec = machineSpecFromTopology(buildTopology(loadHardwareModel(model)));
      const kernel = loadKernelModel('linux-6.6');
      const params = launchSchema.parse({ containers: [k], variant: 'per-layer-idmap', layers: l });
      const { on, off } = bothWays(() => {
        const m = new Machine(spec, { seed: 'adv', placement: 'spread' });
        return simulateLaunch(m, kernel, params, buildLaunchTrace(params, k, kernel, 'adv')).metrics as unknown as Record<string, number>;
      });
      expect(on.mountOps).toBeGreaterThan(0);
      expect({ ...on, events: 0 }).toEqual({ ...off, events: 0 });
      expect(on.events).toBeLessThan(0.9 * off.events);
    }
  });

  it('a launch on a host model whose wake-ups know their waker (generic-2core with a wakeup section)', () => {
    const hw = structuredClone(loadHardwareModel('generic-2core'));
    hw.wakeup = { localNs: { value: 3_000, source: 't' }, remoteNs: { value: 12_000, source: 't' }, waitOnPreviousShare: { value: 0.5, source: 't' }, preemptShare: { value: 0.5, source: 't' } };
    const spec = machineSpecFromTopology(buildTopology(hw));
    expect(spec.wakeAware).toBeDefined();
    const kernel = loadKernelModel('linux-6.6');
    const params = launchSchema.parse({ containers: [4], variant: 'per-layer-idmap', layers: 10 });
    const { on, off } = bothWays(() => {
      const m = new Machine(spec, { seed: 'adv', placement: 'spread' });
      return simulateLaunch(m, kernel, params, buildLaunchTrace(params, 4, kernel, 'adv')).metrics as unknown as Record<string, number>;
    });
    expect(on.mountOps).toBeGreaterThan(0);
    expect({ ...on, events: 0 }).toEqual({ ...off, events: 0 });
    expect(on.events).toBeLessThan(off.events);
  });

  it('lock microbenchmarks (ttas, qspinlock, ticket; critical section with and without think time)', () => {
    const spec = handMadeSpec('chiplet', 1, 8, 2, 2);
    for (const lock of ['ttas', 'qspinlock', 'ticket'] as const) {
      for (const thinkNs of [0, 300]) {
        const p = { lock, threads: 6, criticalSectionNs: 100, thinkNs, distribution: 'exponential' as const, durationNs: 2_000_000, placement: 'scatter' as const };
        const { on, off } = bothWays(() => runLockMicrobench(spec, p, 'adv'));
        expect(on.acquisitions).toBeGreaterThan(100);
        expect({ ...on, events: 0 }).toEqual({ ...off, events: 0 });
        expect(on.events).toBeLessThan(off.events);
      }
    }
  });
});
