// What an interrupt takes from the thread it lands on (hardware `wakeup`
// ipiNs and rcuExpeditedIpiNs, measured by the wakeup probe's `interrupts`):
// on this project's 2-vCPU guest an expedited grace period's IPI takes
// ~13 us from a thread busy on the other CPU, an IPI ~6 us
// (docs/validation.md, "Seventh session"). Without it the model's storms of
// two containers ran their user-space and kernel work undisturbed by each
// other's unmounts.
import { describe, expect, it } from 'vitest';
import { wakeAwareSpec } from './helpers/machines.ts';
import { Machine } from '../src/machine.ts';
import type { SimThread } from '../src/cpu/thread.ts';
import { ExpeditedRcu } from '../src/workload/kernelPath.ts';

const awareSpec = (ipiNs: number, rcuExpeditedIpiNs: number, ipiSendNs = 0) =>
  wakeAwareSpec({ waitOnPrevious: 0, preempt: 1 }, { ipiNs: { value: ipiNs, source: 't' }, rcuExpeditedIpiNs: { value: rcuExpeditedIpiNs, source: 't' }, ...(ipiSendNs ? { ipiSendNs: { value: ipiSendNs, source: 't' } } : {}) });

describe('an interrupt takes its time from the thread it lands on', () => {
  it('work in progress completes that much later; a thread between waits starts its next work that much later', () => {
    const m = new Machine(awareSpec(0, 0), { seed: 'irq' });
    const done: Record<string, number> = {};
    const a = m.spawn('a', function* (t) {
      t.work(100_000);
      yield;
      done.a = t.sim.now;
    });
    m.sim.schedule(30_000, { fire: () => a.interrupted(10_000) });
    m.sim.run();
    expect(done.a).toBe(110_000);
  });

  it('a thread busy on the other CPU loses rcuExpeditedIpiNs per grace period whose IPI it takes, and nothing when it is 0', () => {
    const hogEnd = (rcuIpi: number) => {
      const m = new Machine(awareSpec(0, rcuIpi), { seed: 'irq' });
      const rcu = new ExpeditedRcu(m, 20_000, 0, null, true);
      let end = 0;
      let gps = 0;
      // The hog: 2 ms of work on CPU 1. The caller: 20 grace periods from CPU 0, 40 us apart.
      m.spawn('hog', function* (t) {
        t.work(2_000_000);
        yield;
        end = t.sim.now;
      }, [1]);
      m.spawn('caller', function* (t: SimThread) {
        for (let i = 0; i < 20; i++) {
          t.work(40_000);
          yield;
          yield rcu.synchronize(t);
          gps++;
        }
      }, [0]);
      m.sim.run();
      expect(gps).toBe(20);
      return { end, gracePeriods: rcu.gracePeriods };
    };
    const without = hogEnd(0);
    const withIpi = hogEnd(13_000);
    expect(withIpi.gracePeriods).toBe(20);
    // Every grace period found the hog on its CPU (the worker ran on the caller's CPU or preempted the hog): at least the IPIs of those it found there.
    const lost = withIpi.end - without.end;
    expect(lost).toBeGreaterThan(0);
    expect(lost % 13_000).toBe(0);
    expect(lost / 13_000).toBeGreaterThanOrEqual(10);
  });

  it('a wake-up that preempts a busy CPU runs ipiNs later (the CPU handles the reschedule IPI first)', () => {
    const ranAt = (ipi: number) => {
      const m = new Machine(awareSpec(ipi, 0), { seed: 'irq' });
      // Per-CPU run queues, as the kernel models set them: wake-ups then know their waker (Scheduler.placeWoken).
      m.scheduler.perCpuQueues = { balanceIntervalNs: 4_000_000 };
      let ran = 0;
      let wakeAt = 0;
      // The wakee runs once on CPU 1 and sleeps; a hog then takes CPU 1 in user mode; the waker on CPU 0 wakes the wakee back onto CPU 1 (its previous CPU, busy: it preempts).
      const wakee = m.spawn('wakee', function* (t) {
        t.work(1_000);
        yield;
        t.sleep();
        yield;
        ran = t.sim.now;
      }, [1]);
      m.spawn('hog', function* (t) {
        t.work(1_000_000);
        yield;
      }, [1]);
      m.spawn('waker', function* (t) {
        t.work(100_000);
        yield;
        wakeAt = t.sim.now;
        wakee.wake();
        t.work(1_000);
        yield;
      }, [0]);
      m.sim.run();
      return ran - wakeAt;
    };
    const base = ranAt(0);
    // At least the reschedule IPI's delivery (remoteNs) and the switch.
    expect(base).toBeGreaterThanOrEqual(12_000);
    expect(ranAt(6_000) - base).toBe(6_000);
  });
});

// What a wake-up onto another CPU costs its waker (hardware `wakeup.ipiSendNs`,
// the wakeup probe's `wakeCall`): on this project's 2-vCPU guest the send of
// the IPI is an exit of ~7 us on the waker's vCPU (an ftrace of a 2-container
// storm: the waker's next event 7-8 us after each ipi_send_cpu;
// docs/validation.md, "Eleventh session"). Without it a storm's two
// containers fell into a cycle the kernel does not show: the one beside the
// grace-period worker took two fast unmounts while the other waited for its
// wake-up.
describe('a wake-up onto another CPU costs its waker the IPI send', () => {
  /** Waker on CPU 0 wakes a sleeper whose previous CPU is `wakeeCpu`, then works 10 us: when the waker's work ends, and when the wakee runs. */
  const run = (ipiSendNs: number, wakeeCpu: number) => {
    const m = new Machine(awareSpec(0, 0, ipiSendNs), { seed: 'send' });
    m.scheduler.perCpuQueues = { balanceIntervalNs: 4_000_000 };
    const at: Record<string, number> = {};
    const wakee = m.spawn('wakee', function* (t) {
      t.sleep();
      yield;
      at.wakee = t.sim.now;
    }, [wakeeCpu]);
    m.spawn('waker', function* (t) {
      t.work(50_000);
      yield;
      at.wake = t.sim.now;
      wakee.wake();
      t.work(10_000);
      yield;
      at.waker = t.sim.now;
    }, [0]);
    m.sim.run();
    return at;
  };

  it('the waker goes on that much later when the wakee goes to another CPU, and not when it stays on the waker\'s', () => {
    const remote0 = run(0, 1);
    const remote = run(7_000, 1);
    expect(remote.waker! - remote0.waker!).toBe(7_000);
    // The wake-up's own latency to the wakee is not the waker's cost.
    expect(remote.wakee! - remote.wake!).toBe(remote0.wakee! - remote0.wake!);
    const local0 = run(0, 0);
    const local = run(7_000, 0);
    expect(local.waker).toBe(local0.waker);
  });

  /** A sleeper last on CPU 1, and a waker on CPU 0 that works 20 us, wakes it (an IPI's send: 7 us), then sleeps; `at.sent` is the wake's time, `at.resumed` when the waker's sleep ends. */
  const wakeThenSleep = () => {
    const m = new Machine(awareSpec(0, 0, 7_000), { seed: 'send' });
    m.scheduler.perCpuQueues = { balanceIntervalNs: 4_000_000 };
    const at = { sent: 0, resumed: 0 };
    const wakee = m.spawn('wakee', function* (t) {
      t.sleep();
      yield;
    }, [1]);
    const waker = m.spawn('waker', function* (t) {
      t.work(20_000);
      yield;
      at.sent = t.sim.now;
      wakee.wake();
      t.sleep();
      yield;
      at.resumed = t.sim.now;
    }, [0]);
    return { m, waker, at };
  };

  it('a waker that sleeps right after keeps its CPU for the send before letting it go', () => {
    const { m, at } = wakeThenSleep();
    let nextRan = 0;
    // Waits on CPU 0 for the waker's CPU.
    m.spawn('next', function* (t) {
      t.work(1_000);
      yield;
      nextRan = t.sim.now;
    }, [0]);
    m.sim.run();
    // It ran after the waker's sleep, which came 7 us after the wake (plus the switch and its 1 us of work).
    expect(nextRan - at.sent).toBeGreaterThanOrEqual(7_000 + 1_000);
  });

  it('a wake that arrives while the waker spends its send means it never sleeps', () => {
    const { m, waker, at } = wakeThenSleep();
    // An event wakes the waker 2 us into its send.
    m.sim.schedule(22_000, { fire: () => waker.wake() });
    m.sim.run();
    expect(at.sent).toBe(20_000);
    // It resumes where the send ends, on its CPU, with no wake-up latency.
    expect(at.resumed).toBe(27_000);
  });
});

describe('a grace period whose busy CPU goes idle (ExpeditedRcu.reportWhenIdle)', () => {
  /** A caller on CPU 0 waits for one grace period (60 us per busy CPU, no base) while a thread on CPU 1 works `busyNs`, then sleeps. Returns the caller's wait. */
  const waitWith = (busyNs: number) => {
    const m = new Machine(awareSpec(0, 0), { seed: 'gp' });
    m.scheduler.perCpuQueues = { balanceIntervalNs: 4_000_000 };
    const rcu = new ExpeditedRcu(m, 0, 60_000, null, true);
    let waited = 0;
    m.spawn('other', function* (t) {
      t.work(busyNs);
      yield;
      t.sleepFor(1_000_000);
      yield;
    }, [1]);
    m.spawn('caller', function* (t: SimThread) {
      t.work(1_000);
      yield;
      const from = t.sim.now;
      yield rcu.synchronize(t);
      waited = t.sim.now - from;
    }, [0]);
    m.sim.run();
    return waited;
  };

  it('ends remoteNs after the CPU goes idle (the IPI is handled in the idle loop), not after the length for a CPU that stays busy', () => {
    const stays = waitWith(500_000);
    const sleeps = waitWith(6_000);
    // The other CPU stays busy: the length, 60 us, and the hand-offs.
    expect(stays).toBeGreaterThanOrEqual(60_000);
    // It sleeps 5 us into the grace period: 12 us (remoteNs) after that, and the same hand-offs.
    expect(sleeps).toBeLessThan(stays - 40_000);
    expect(sleeps).toBeGreaterThanOrEqual(17_000);
  });
});
