// The discrete-event kernel and its random streams: what every simulation in
// locksim relies on. Events come out in time order, ties in the order they
// were scheduled (the determinism contract), and each named random stream is
// reproducible and unaffected by other streams.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Simulator, callback, type EventTarget } from '../src/engine/simulator.ts';
import seedrandom from 'seedrandom';
import { RandomStream, RandomStreams } from '../src/engine/random.ts';

/** Records (time, arg) of every delivery. */
function recorder(sim: Simulator) {
  const log: { t: number; arg: number }[] = [];
  const target: EventTarget = { fire: (arg) => log.push({ t: sim.now, arg }) };
  return { log, target };
}

describe('Simulator', () => {
  it('delivers events in time order, whatever order they were scheduled in', () => {
    const sim = new Simulator();
    const { log, target } = recorder(sim);
    const delays = [50, 10, 40, 0, 30, 20];
    delays.forEach((d, i) => sim.schedule(d, target, i));
    sim.run();
    expect(log.map((e) => e.t)).toEqual([0, 10, 20, 30, 40, 50]);
    // Each event arrives at the time it was scheduled for.
    for (const e of log) expect(e.t).toBe(delays[e.arg]);
  });

  it('calls the fire a target had when the event was scheduled, with the target as this (read then, not per delivery)', () => {
    const sim = new Simulator();
    const seen: string[] = [];
    class Target implements EventTarget {
      constructor(readonly name: string) {}
      fire(arg: number): void {
        seen.push(`${this.name}:${arg}@${sim.now}`);
      }
    }
    const a = new Target('a');
    const b: EventTarget = { fire: (arg) => seen.push(`b:${arg}@${sim.now}`) };
    sim.schedule(10, a, 1);
    sim.schedule(5, b, 2);
    // Replaced after scheduling: the pending event keeps the fire it was scheduled with.
    b.fire = (arg) => seen.push(`b2:${arg}@${sim.now}`);
    sim.schedule(20, b, 3);
    sim.run();
    expect(seen).toEqual(['b:2@5', 'a:1@10', 'b2:3@20']);
  });

  it('delivers simultaneous events in scheduling order, across targets', () => {
    const sim = new Simulator();
    const order: string[] = [];
    const a = callback((arg) => order.push(`a${arg}`));
    const b = callback((arg) => order.push(`b${arg}`));
    sim.schedule(5, b, 1);
    sim.schedule(5, a, 2);
    sim.schedule(5, b, 3);
    sim.schedule(1, a, 0);
    sim.schedule(5, a, 4);
    sim.run();
    expect(order).toEqual(['a0', 'b1', 'a2', 'b3', 'a4']);
  });

  it('an event scheduled with delay 0 from a handler runs after the events already due at that instant', () => {
    const sim = new Simulator();
    const order: string[] = [];
    const late = callback(() => order.push('zero-delay'));
    const first = callback(() => {
      order.push('first');
      sim.schedule(0, late);
    });
    const second = callback(() => order.push('second'));
    sim.schedule(7, first);
    sim.schedule(7, second);
    sim.run();
    expect(order).toEqual(['first', 'second', 'zero-delay']);
    expect(sim.now).toBe(7);
  });

  it('run(until) delivers events up to and including until, leaves later ones pending, and sets now = until', () => {
    const sim = new Simulator();
    const { log, target } = recorder(sim);
    for (const d of [10, 20, 30, 40]) sim.schedule(d, target, d);
    sim.run(30);
    expect(log.map((e) => e.arg)).toEqual([10, 20, 30]);
    expect(sim.now).toBe(30);
    expect(sim.pending).toBe(1);
    sim.run(35);
    expect(sim.now).toBe(35);
    expect(log).toHaveLength(3);
    // Delays are relative to the new now.
    sim.schedule(1, target, 36);
    sim.run();
    expect(log.map((e) => e.t)).toEqual([10, 20, 30, 36, 40]);
    expect(sim.eventsFired).toBe(5);
  });

  it('run(until) with nothing pending still advances now to until', () => {
    const sim = new Simulator();
    sim.run(1234);
    expect(sim.now).toBe(1234);
  });

  it('stop() ends the run after the current event', () => {
    const sim = new Simulator();
    const { log, target } = recorder(sim);
    sim.schedule(1, target, 1);
    sim.schedule(2, callback(() => sim.stop()));
    sim.schedule(3, target, 3);
    sim.run(100);
    expect(log.map((e) => e.arg)).toEqual([1]);
    expect(sim.now).toBe(2);
    expect(sim.pending).toBe(1);
  });

  it('rejects negative and NaN delays', () => {
    const sim = new Simulator();
    const t = callback(() => {});
    expect(() => sim.schedule(-1, t)).toThrow(RangeError);
    expect(() => sim.schedule(NaN, t)).toThrow(RangeError);
  });

  it('keeps time order and tie order through heap growth (random schedules vs a sorted reference)', () => {
    // Each schedule is a list of batches: a batch is scheduled from inside the
    // handler of the previous batch's first event, so the heap grows and
    // shrinks while running, starting from a tiny capacity to force growth.
    const delay = fc.oneof(fc.integer({ min: 0, max: 20 }), fc.double({ min: 0, max: 1e6, noNaN: true }));
    fc.assert(
      fc.property(fc.array(fc.array(delay, { minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 6 }), (batches) => {
        const sim = new Simulator(2);
        const expected: { t: number; seq: number }[] = [];
        const delivered: { t: number; seq: number }[] = [];
        let seq = 0;
        const scheduleBatch = (b: number) => {
          for (let i = 0; i < batches[b].length; i++) {
            const s = seq++;
            const t = sim.now + batches[b][i];
            expected.push({ t, seq: s });
            // The first event of a batch schedules the next batch when it fires.
            const isTrigger = i === 0 && b + 1 < batches.length;
            sim.schedule(batches[b][i], callback(() => {
              delivered.push({ t: sim.now, seq: s });
              if (isTrigger) scheduleBatch(b + 1);
            }));
          }
        };
        scheduleBatch(0);
        sim.run();
        // Reference: every event sorted by (time, scheduling sequence). Events
        // of a later batch are scheduled at or after the trigger's time, so
        // the global sort is the order a correct simulator must produce.
        expected.sort((x, y) => x.t - y.t || x.seq - y.seq);
        expect(delivered).toEqual(expected);
        expect(sim.pending).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});

describe('RandomStreams', () => {
  const draws = (s: { uniform(): number }, n: number) => Array.from({ length: n }, () => s.uniform());

  it('a stream is reproducible from seed and name', () => {
    const a = draws(new RandomStreams('seed-1').stream('thread/worker0'), 100);
    const b = draws(new RandomStreams('seed-1').stream('thread/worker0'), 100);
    expect(a).toEqual(b);
    for (const x of a) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
  });

  it('draws exactly seedrandom\'s Alea numbers (the stream steps Alea itself, without its closure)', () => {
    for (const seed of ['seed-1/thread/worker0', 'bench/background-readers', '', 'x'.repeat(300)]) {
      const ours = new RandomStream(seed);
      const theirs = seedrandom.alea(seed);
      for (let i = 0; i < 20_000; i++) expect(ours.uniform()).toBe(theirs());
    }
  });

  it('different names and different seeds give different draws', () => {
    const a = draws(new RandomStreams('seed-1').stream('thread/worker0'), 20);
    const b = draws(new RandomStreams('seed-1').stream('thread/worker1'), 20);
    const c = draws(new RandomStreams('seed-2').stream('thread/worker0'), 20);
    expect(a).not.toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('adding a stream and drawing from it does not change another stream’s draws', () => {
    const alone = new RandomStreams('s');
    const x = alone.stream('x');
    const expected = draws(x, 50);

    const crowded = new RandomStreams('s');
    const before = crowded.stream('before');
    draws(before, 17);
    const x2 = crowded.stream('x');
    const got: number[] = [];
    // Interleave draws from x with draws from streams created in between.
    for (let i = 0; i < 50; i++) {
      got.push(x2.uniform());
      crowded.stream(`extra${i}`).uniform();
      before.uniform();
    }
    expect(got).toEqual(expected);
  });

  it('exponential(mean) has the requested mean within 2% over 200,000 draws', () => {
    const s = new RandomStreams('exp').stream('e');
    const n = 200_000;
    for (const meanNs of [1, 200, 10_000]) {
      let sum = 0;
      let sumSq = 0;
      let negatives = 0;
      for (let i = 0; i < n; i++) {
        const x = s.exponential(meanNs);
        if (!(x >= 0)) negatives++;
        sum += x;
        sumSq += x * x;
      }
      expect(negatives).toBe(0);
      const m = sum / n;
      // Standard error of the mean is mean/sqrt(n) ~ 0.22%, so 2% is ~9 sigma.
      expect(Math.abs(m / meanNs - 1), `mean ${m} for requested ${meanNs}`).toBeLessThan(0.02);
      // An exponential's standard deviation equals its mean.
      const sd = Math.sqrt(sumSq / n - m * m);
      expect(Math.abs(sd / meanNs - 1), `sd ${sd} for mean ${meanNs}`).toBeLessThan(0.03);
    }
  });

  it('unitLogNormal(cv) is positive with mean 1 and the requested CV; cv 0 is exactly 1 and draws nothing', () => {
    const n = 200_000;
    for (const cv of [0.1, 0.5]) {
      const s = new RandomStreams('ln').stream(`cv${cv}`);
      let sum = 0, sumSq = 0, min = Infinity;
      for (let i = 0; i < n; i++) {
        const x = s.unitLogNormal(cv);
        sum += x;
        sumSq += x * x;
        min = Math.min(min, x);
      }
      const m = sum / n;
      expect(min).toBeGreaterThan(0);
      // Standard error of the mean is cv/sqrt(n) <= 0.11%.
      expect(Math.abs(m - 1), `mean ${m} at cv ${cv}`).toBeLessThan(0.01);
      expect(Math.abs(Math.sqrt(sumSq / n - m * m) / m / cv - 1), `cv at ${cv}`).toBeLessThan(0.05);
    }
    const a = new RandomStreams('ln').stream('zero');
    const b = new RandomStreams('ln').stream('zero');
    expect(a.unitLogNormal(0)).toBe(1);
    expect(a.uniform()).toBe(b.uniform());
  });

  it('between and int stay in range', () => {
    const s = new RandomStreams('r').stream('r');
    const seen = new Set<number>();
    let outside = 0;
    for (let i = 0; i < 10_000; i++) {
      const b = s.between(5, 7);
      if (!(b >= 5 && b < 7)) outside++;
      seen.add(s.int(3));
    }
    expect(outside).toBe(0);
    expect([...seen].sort()).toEqual([0, 1, 2]);
  });
});

/** A generic-2core machine (one queue for the machine, no wake-up section), seed 's'. */
async function generic2core() {
  const { Machine } = await import('../src/machine.ts');
  const { machineSpecFromTopology } = await import('../src/hardware/machineSpec.ts');
  const { buildTopology } = await import('../src/hardware/topology.ts');
  const { loadHardwareModel } = await import('../src/config/hardwareSchema.ts');
  return new Machine(machineSpecFromTopology(buildTopology(loadHardwareModel('generic-2core'), {})), { seed: 's' });
}

describe('a time slice that ends the instant a piece of work completes', () => {
  it('does not strand the thread: it resumes its body at its next dispatch', async () => {
    const m = await generic2core();
    const quantum = m.scheduler.params.quantumNs;
    let done = 0;
    // Three threads on one CPU: whole slices of work, so every slice ends exactly when a piece of work does.
    for (let i = 0; i < 3; i++) {
      m.spawn(`t${i}`, function* (t) {
        for (let k = 0; k < 4; k++) {
          t.work(quantum);
          yield;
        }
        done++;
      }, [0]);
    }
    m.sim.run(1e12);
    expect(done).toBe(3);
  });
});

describe('event arguments are 32-bit integers', () => {
  it('delivers the whole 32-bit range exactly and refuses anything else', () => {
    const sim = new Simulator();
    const { log, target } = recorder(sim);
    for (const a of [-(2 ** 31), -1, 0, 1, 2 ** 31 - 1]) sim.schedule(1, target, a);
    sim.run();
    expect(log.map((e) => e.arg)).toEqual([-(2 ** 31), -1, 0, 1, 2 ** 31 - 1]);
    // Kept in an Int32Array (docs/architecture.md, "Cold runs"): anything else would come back changed.
    for (const bad of [2 ** 31, -(2 ** 31) - 1, 0.5, NaN]) expect(() => sim.schedule(1, target, bad)).toThrow(RangeError);
  });

  it('a CPU that changed hands more than 2^30 times still time-slices (the slice timer carries its epoch modulo 2^17)', async () => {
    const m = await generic2core();
    const quantum = m.scheduler.params.quantumNs;
    // As after a very long run: the epoch times the CPU count is past 2^31.
    (m.scheduler as unknown as { sliceEpoch: number[] }).sliceEpoch.fill(2 ** 30 + 5);
    const finished: number[] = [];
    // Three threads on one CPU, each 4 slices of work in pieces of a third of a slice: round robin ends them all late.
    for (let i = 0; i < 3; i++) {
      m.spawn(`t${i}`, function* (t) {
        for (let k = 0; k < 12; k++) {
          t.work(quantum / 3 + 1);
          yield;
        }
        finished.push(m.sim.now);
      }, [0]);
    }
    m.sim.run(1e12);
    expect(finished).toHaveLength(3);
    // Without slices the first would end after 4 slices of work; with them, after more than 10 of the 12.
    expect(Math.min(...finished)).toBeGreaterThan(10 * quantum);
  });
});

describe('the scheduler slice follows the CPU count as the kernel scales it', () => {
  it('0.75 ms x (1 + log2 cpus), capped at 8 cpus', async () => {
    const { schedulerSliceNs } = await import('../src/machine.ts');
    expect([1, 2, 4, 8, 96].map(schedulerSliceNs)).toEqual([750_000, 1_500_000, 2_250_000, 3_000_000, 3_000_000]);
  });
});

describe('per-CPU run queues', () => {
  /** A 2-CPU machine (generic-2core), per-CPU queues if asked, balance every 4 ms. */
  async function twoCpus(perCpu = true) {
    const m = await generic2core();
    if (perCpu) m.scheduler.perCpuQueues = { balanceIntervalNs: 4_000_000 };
    return m;
  }
  /** A thread holding its CPU in kernel mode (no slice ends it) for `ns`. */
  const hog = (ns: number) => function* (t: import('../src/cpu/thread.ts').SimThread) { t.enterKernel(); t.work(ns); yield; t.exitKernel(); };
  /**
   * 2 CPUs: `hog` holds CPU 0 for 1 ms of kernel work, `sleeper` on CPU 1
   * alternates 10 us of work with 10 us sleeps, and `late` is released while
   * both run. Returns when `late` first ran.
   */
  async function lateStart(perCpu: boolean, sleeperRounds = 40): Promise<number> {
    const m = await twoCpus(perCpu);
    m.spawn('hog', hog(1_000_000));
    m.spawn('sleeper', function* (t) {
      for (let i = 0; i < sleeperRounds; i++) {
        t.work(10_000);
        yield;
        t.sleepFor(10_000);
        yield;
      }
    });
    let started = -1;
    m.sim.schedule(1_000, { fire: () => m.spawn('late', function* (t) { started = t.sim.now; t.work(1_000); yield; }) });
    m.sim.run(1e12);
    return started;
  }

  it('a released thread waits on its CPU behind a busy thread while the other CPU idles between sleeps; with one queue it runs in the first gap', async () => {
    expect(await lateStart(false)).toBeLessThan(100_000);
    const perCpu = await lateStart(true);
    expect(perCpu).toBeGreaterThanOrEqual(1_000_000);
    expect(perCpu).toBeLessThan(1_100_000);
  });

  it('the periodic balance moves a thread waiting behind a busy CPU to an idle one', async () => {
    // The hog holds CPU 0 for 1 ms; with a 10 ms hog the balance (every 4 ms) must move it first.
    const m = await twoCpus();
    m.spawn('hog', hog(10_000_000));
    m.spawn('brief', function* (t) { t.work(10_000); yield; });
    let started = -1;
    m.sim.schedule(1_000, { fire: () => m.spawn('late', function* (t) { started = t.sim.now; t.work(1_000); yield; }) });
    m.sim.run(1e12);
    expect(started).toBeGreaterThanOrEqual(4_000_000);
    expect(started).toBeLessThan(4_100_000);
  });

  it('the balance evens out: an idle CPU takes half of the busiest CPU\'s runnable threads', async () => {
    const m = await twoCpus();
    // The hog keeps CPU 0 for 10 ms; six threads released behind it queue there.
    m.spawn('hog', hog(10_000_000));
    m.spawn('brief', function* (t) { t.work(10_000); yield; });
    const starts: number[] = [];
    m.sim.schedule(1_000, { fire: () => { for (let i = 0; i < 6; i++) m.spawn(`q${i}`, function* (t) { starts.push(t.sim.now); t.work(1_000_000); yield; }); } });
    m.sim.run(1e12);
    // At 4 ms CPU 0 has 7 runnable (the hog and six waiting), CPU 1 none: 3
    // move and run one after another on CPU 1 (4-7 ms); at 8 ms CPU 0 has 4:
    // 2 move (8-10 ms); the last waits for the hog.
    const ms = starts.map((x) => Math.floor(x / 1e6));
    expect(ms).toEqual([4, 5, 6, 8, 9, 10]);
  });
});

describe('wake-ups that know their waker (hardware wakeup: localNs, remoteNs, waitOnPreviousShare, preemptShare)', () => {
  const LOCAL = 3_000;
  const REMOTE = 12_000;
  /** generic-2core with per-CPU queues, and with the measured-style wakeup section unless `aware` is false. */
  async function machine(aware: boolean, waitShare = 1, seed = 's', preemptShare = 1) {
    const { Machine } = await import('../src/machine.ts');
    const { machineSpecFromTopology } = await import('../src/hardware/machineSpec.ts');
    const { buildTopology } = await import('../src/hardware/topology.ts');
    const { loadHardwareModel } = await import('../src/config/hardwareSchema.ts');
    const hw = structuredClone(loadHardwareModel('generic-2core'));
    const src = 'test';
    if (aware) hw.wakeup = { localNs: { value: LOCAL, source: src }, remoteNs: { value: REMOTE, source: src }, waitOnPreviousShare: { value: waitShare, source: src }, preemptShare: { value: preemptShare, source: src } };
    const m = new Machine(machineSpecFromTopology(buildTopology(hw, {})), { seed });
    m.scheduler.perCpuQueues = { balanceIntervalNs: 4_000_000 };
    return m;
  }

  /**
   * W and S start on CPUs 0 and 1 (spread placement, spawn order). If
   * `sameCpu`, S first moves to CPU 0 (its affinity, then both CPUs again)
   * while W sleeps 20 us, so its previous CPU is W's. S sleeps; W wakes it
   * later, works 50 us more and ends. Returns S's CPU and how long after the
   * wake it ran.
   */
  async function wakeOnce(m: Awaited<ReturnType<typeof machine>>, sameCpu: boolean): Promise<{ cpu: number; afterNs: number }> {
    let sleeper: import('../src/cpu/thread.ts').SimThread | null = null;
    let woke = -1;
    let ran = -1;
    let cpu = -1;
    m.spawn('W', function* (t) {
      t.work(10_000);
      yield;
      t.sleepFor(20_000);
      yield;
      t.work(70_000);
      yield;
      woke = t.sim.now;
      sleeper!.wake();
      t.work(50_000);
      yield;
    });
    sleeper = m.spawn('S', function* (t) {
      t.work(1_000);
      yield;
      if (sameCpu) {
        // Off CPU 1 onto CPU 0, which it gets while W sleeps.
        t.affinity = [0];
        t.sleepFor(1);
        yield;
        t.affinity = [];
      }
      t.sleep();
      yield;
      ran = t.sim.now;
      cpu = t.cpu;
    });
    m.sim.run(1e12);
    return { cpu, afterNs: ran - woke };
  }

  it('two threads woken onto the same idle CPU at once: the second joins its wake-up, preempting no one', async () => {
    // A and B last ran on CPU 1 and sleep there; W, busy on CPU 0, wakes A
    // then B at the same instant. The kernel puts both on CPU 1's wake list
    // (one IPI) and activates them together: A runs its 30 us, then B.
    // Treated as a wake-up onto a busy CPU, B would preempt A on arrival.
    const m = await machine(true);
    const log: Record<string, number> = {};
    const sleeper = (name: string) => function* (t: import('../src/cpu/thread.ts').SimThread) {
      t.work(1_000);
      yield;
      t.affinity = [];
      t.sleep();
      yield;
      log[`${name} ran`] = t.sim.now;
      log[`${name} cpu`] = t.cpu;
      t.work(30_000);
      yield;
      log[`${name} done`] = t.sim.now;
    };
    let a: import('../src/cpu/thread.ts').SimThread | null = null;
    let b: import('../src/cpu/thread.ts').SimThread | null = null;
    m.spawn('W', function* (t) {
      t.work(200_000);
      yield;
      log['woke'] = t.sim.now;
      a!.wake();
      b!.wake();
      t.work(100_000);
      yield;
    }, [0]);
    a = m.spawn('A', sleeper('A'), [1]);
    b = m.spawn('B', sleeper('B'), [1]);
    m.sim.run(1e12);
    expect(log['A cpu']).toBe(1);
    expect(log['B cpu']).toBe(1);
    expect(log['A ran']! - log['woke']!).toBe(REMOTE);
    expect(log['A done']! - log['A ran']!).toBe(30_000);
    expect(log['B ran']).toBeGreaterThanOrEqual(log['A done']!);
  });

  it('onto another, idle CPU a wake-up costs remoteNs; without the section, the one wake-up latency', async () => {
    expect(await wakeOnce(await machine(true), false)).toEqual({ cpu: 1, afterNs: REMOTE });
    const { DEFAULT_WAKEUP_NS } = await import('../src/machine.ts');
    expect(await wakeOnce(await machine(false), false)).toEqual({ cpu: 1, afterNs: DEFAULT_WAKEUP_NS });
  });

  it('a wakee whose previous CPU is the busy waker\'s waits there (share 1) until the waker sleeps; with share 0 or no section it takes the idle CPU', async () => {
    const stay = await wakeOnce(await machine(true, 1), true);
    expect(stay.cpu).toBe(0);
    // W works 50 us after the wake, then its CPU switches to S.
    expect(stay.afterNs).toBeGreaterThanOrEqual(50_000);
    expect(stay.afterNs).toBeLessThan(60_000);
    expect(await wakeOnce(await machine(true, 0), true)).toEqual({ cpu: 1, afterNs: REMOTE });
    const { DEFAULT_WAKEUP_NS } = await import('../src/machine.ts');
    expect(await wakeOnce(await machine(false), true)).toEqual({ cpu: 1, afterNs: DEFAULT_WAKEUP_NS });
  });

  it('a share between 0 and 1 is drawn per wake-up: about that share waits, and the same seed gives the same CPU', async () => {
    let waited = 0;
    const n = 200;
    for (let i = 0; i < n; i++) if ((await wakeOnce(await machine(true, 0.3, `seed${i}`), true)).cpu === 0) waited++;
    // Binomial(200, 0.3): mean 60, sd 6.5.
    expect(waited).toBeGreaterThan(40);
    expect(waited).toBeLessThan(80);
    const a = await wakeOnce(await machine(true, 0.3, 'same'), true);
    const b = await wakeOnce(await machine(true, 0.3, 'same'), true);
    expect(a).toEqual(b);
  });

  /**
   * S last ran on CPU 1 and sleeps; H then runs 2 ms of work on CPU 1 (in
   * user mode, or in the kernel); W on CPU 0 wakes S at 100 us and works
   * 500 us more. Returns how long after the wake S ran.
   */
  async function wakeOntoBusy(m: Awaited<ReturnType<typeof machine>>, kernel: boolean, withQueued?: { ranAt: number }): Promise<number> {
    let sleeper: import('../src/cpu/thread.ts').SimThread | null = null;
    let woke = -1;
    let ran = -1;
    m.spawn('W', function* (t) {
      t.work(100_000);
      yield;
      woke = t.sim.now;
      sleeper!.wake();
      t.work(500_000);
      yield;
    });
    sleeper = m.spawn('S', function* (t) {
      t.work(1_000);
      yield;
      t.sleep();
      yield;
      ran = t.sim.now;
    });
    m.sim.schedule(10_000, {
      fire: () => {
        m.spawn('H', function* (t) {
          if (kernel) t.enterKernel();
          t.work(2_000_000);
          yield;
          if (kernel) t.exitKernel();
        }, [1]);
        // Q waits on H's CPU from 10 us on (a thread queued there before S's wake-up).
        if (withQueued) {
          m.spawn('Q', function* (t) {
            withQueued.ranAt = t.sim.now;
            t.work(1_000_000);
            yield;
          }, [1]);
        }
      },
    });
    m.sim.run(1e12);
    return ran - woke;
  }

  it('a wakee whose previous CPU runs another thread preempts it (preemptShare 1): after the IPI in user mode, at its kernel exit in the kernel; share 0: it waits on its waker\'s CPU', async () => {
    const ctx = 2_000;
    expect(await wakeOntoBusy(await machine(true, 1, 's', 1), false)).toBe(REMOTE + ctx);
    // H leaves the kernel at 10 us + 2 ms (2.01 ms), 1.91 ms after the wake.
    const inKernel = await wakeOntoBusy(await machine(true, 1, 's', 1), true);
    expect(inKernel).toBeGreaterThanOrEqual(1_910_000);
    expect(inKernel).toBeLessThan(1_930_000);
    // Without preemption it queues on its waker's CPU and runs when W ends (500 us after the wake), not after H's slice.
    const queued = await wakeOntoBusy(await machine(true, 1, 's', 0), false);
    expect(queued).toBeGreaterThanOrEqual(500_000);
    expect(queued).toBeLessThan(510_000);
  });

  it('queued threads run in EEVDF order: one that has waited since its spawn, owed CPU time, runs before a wakee that slept with no lag, even when the wakee\'s wake-up preempts', async () => {
    const queued = { ranAt: -1 };
    // S's wake-up preempts H after the IPI and a switch; the CPU then runs Q,
    // eligible since 10 us with an earlier deadline; S runs after Q's 1 ms.
    const sRan = await wakeOntoBusy(await machine(true, 1, 's', 1), false, queued);
    expect(queued.ranAt).toBe(100_000 + REMOTE + 2_000);
    expect(sRan).toBeGreaterThan(1_000_000);
  });

  /**
   * On CPU 1: F has `workNs` of work in user mode; four threads each loop
   * (50 us of work, a 20 us sleep) until 200 ms. Returns when F finished.
   */
  async function cpuBoundAmongWakers(m: Awaited<ReturnType<typeof machine>>, workNs: number): Promise<number> {
    let done = -1;
    m.spawn('F', function* (t) {
      t.work(workNs);
      yield;
      done = t.sim.now;
    }, [1]);
    for (let i = 0; i < 4; i++) {
      m.spawn(`W${i}`, function* (t) {
        while (t.sim.now < 200_000_000) {
          t.work(50_000);
          yield;
          t.sleepFor(20_000);
          yield;
        }
      }, [1]);
    }
    m.sim.run(1e12);
    return done;
  }

  it('a CPU-bound thread among threads that sleep and wake all the time gets its fair share of the CPU (EEVDF lag), not only the gaps between wake-ups', async () => {
    // Five threads want CPU 1 (the wakers are runnable 50 of every 70 us):
    // a fifth of it is F's, so its 10 ms of work take ~50 ms. Were woken
    // threads always first, F would run only after the wakers stop (200 ms).
    const done = await cpuBoundAmongWakers(await machine(true, 1, 's', 1), 10_000_000);
    expect(done).toBeGreaterThan(35_000_000);
    expect(done).toBeLessThan(75_000_000);
  });
});
