/**
 * The periodic tick (`Simulator.every`, issue 14): a target delivered every
 * period by the run loop instead of through the heap (the launch's
 * background sampler, src/workload/host/backgroundWalks.ts). It must be
 * delivered exactly where the event that rescheduled itself was
 * (`Simulator.tickByDefault = false`): same times, same order among events
 * at the same instant, the clock advance stopped by it alike; only the
 * event count drops, by the number of ticks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Simulator, callback } from '../src/engine/simulator.ts';
import { Machine } from '../src/machine.ts';
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { buildTopology } from '../src/hardware/topology.ts';
import { machineSpecFromTopology } from '../src/hardware/machineSpec.ts';
import { loadKernelModel } from '../src/workload/kernelModel.ts';
import { buildLaunchTrace, simulateLaunch } from '../src/workload/launch.ts';
import { launchSchema } from '../src/workload/launchParams.ts';

afterEach(() => {
  Simulator.tickByDefault = true;
});

/** Run `fn` with ticks on and off. */
function bothWays<T>(fn: () => T): { on: T; off: T } {
  Simulator.tickByDefault = true;
  const on = fn();
  Simulator.tickByDefault = false;
  const off = fn();
  Simulator.tickByDefault = true;
  return { on, off };
}

/**
 * A small world: a sampler every 100 ns, events that tie with its instants
 * (some scheduled long before, some by a handler at the same instant, some
 * from inside a tick), a chain that tries to move the clock across ticks,
 * and a run in two parts (`until`). Returns the log of deliveries.
 */
function world(): { log: string[]; sim: Simulator } {
  const sim = new Simulator(4);
  const log: string[] = [];
  let samples = 0;
  sim.every(100, callback(() => {
    log.push(`tick ${sim.now}`);
    // Something a sampler might do: an event at the next tick's instant, scheduled now.
    if (++samples % 3 === 0) sim.schedule(100, callback(() => log.push(`from tick ${sim.now}`)));
  }));
  // Events at tick instants scheduled before the tick's own scheduling: they go first.
  for (const at of [100, 300, 700]) sim.scheduleAt(at, callback(() => log.push(`early ${sim.now}`)));
  // A handler at a tick's instant scheduling another at the same instant: after the tick.
  sim.scheduleAt(200, callback(() => {
    log.push(`at 200 ${sim.now}`);
    sim.schedule(0, callback(() => log.push(`same instant ${sim.now}`)));
  }));
  // A chain of 37 ns steps that moves the clock when nothing is due first.
  let steps = 0;
  const step = callback(() => {
    log.push(`step ${sim.now}`);
    while (++steps < 40 && sim.advance(37)) log.push(`advanced ${sim.now}`);
    if (steps < 40) sim.schedule(37, step);
  });
  sim.schedule(5, step);
  // Events between ticks, scheduled after them.
  for (let i = 0; i < 20; i++) sim.scheduleAt(50 * i + 25, callback(() => log.push(`between ${sim.now}`)));
  sim.run(450);
  log.push(`paused ${sim.now}`);
  sim.scheduleAt(600, callback(() => log.push(`late ${sim.now}`)));
  sim.run(1_000);
  return { log, sim };
}

describe('Simulator.every', () => {
  it('delivers its target where a self-rescheduling event was delivered, in the same order among ties, without events', () => {
    const { on, off } = bothWays(world);
    expect(on.log.filter((l) => l.startsWith('tick')).length).toBe(10);
    expect(on.log.some((l) => l.startsWith('advanced'))).toBe(true);
    expect(on.log).toEqual(off.log);
    expect(on.sim.ticksFired).toBe(10);
    expect(off.sim.ticksFired).toBe(0);
    expect(on.sim.eventsFired + on.sim.ticksFired).toBe(off.sim.eventsFired);
    expect(on.sim.now).toBe(off.sim.now);
  });

  it('counts as pending for the clock advance: no advance to or past the next tick', () => {
    const sim = new Simulator();
    sim.every(100, callback(() => {}));
    const moved: boolean[] = [];
    sim.scheduleAt(50, callback(() => {
      moved.push(sim.advance(49)); // to 99: before the tick
      moved.push(sim.advance(1)); // to 100: the tick was scheduled first, so it goes first
    }));
    sim.run(150);
    expect(moved).toEqual([true, false]);
  });

  it('refuses a second periodic target and a period that is not positive', () => {
    const sim = new Simulator();
    expect(() => sim.every(0, callback(() => {}))).toThrow(RangeError);
    sim.every(10, callback(() => {}));
    expect(() => sim.every(10, callback(() => {}))).toThrow(/already/);
  });

  it('a launch (r5.metal 20 x 20, its background sampler on ticks): every metric the same, events fewer by the ticks', () => {
    const spec = machineSpecFromTopology(buildTopology(loadHardwareModel('r5.metal')));
    const kernel = loadKernelModel('linux-6.6');
    const params = launchSchema.parse({ containers: [20], variant: 'per-layer-idmap', layers: 20 });
    const { on, off } = bothWays(() => {
      const m = new Machine(spec, { seed: 'tick', placement: 'spread' });
      const metrics = simulateLaunch(m, kernel, params, buildLaunchTrace(params, 20, kernel, 'tick')).metrics as unknown as Record<string, number>;
      return { metrics, ticks: m.sim.ticksFired };
    });
    expect(on.metrics.mountOps).toBeGreaterThan(0);
    expect(on.ticks).toBeGreaterThan(10);
    expect({ ...on.metrics, events: 0 }).toEqual({ ...off.metrics, events: 0 });
    expect(on.metrics.events + on.ticks).toBe(off.metrics.events);
  });
});
