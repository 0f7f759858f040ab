/**
 * The launch simulation's mechanics on small machines: what a launch does to
 * the mount table, determinism, the reader pressure on mount_lock, expedited
 * RCU batching, and that the rw-semaphore's steal-mode handoff never strands a
 * waiter (a lost handoff once left every thread asleep with the lock free).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { buildTopology } from '../src/hardware/topology.ts';
import { machineSpecFromTopology } from '../src/hardware/machineSpec.ts';
import { Machine, type MachineSpec } from '../src/machine.ts';
import { loadKernelModel } from '../src/workload/kernelModel.ts';
import { buildLaunchTrace, simulateLaunch } from '../src/workload/launch.ts';
import { launchSchema, type LaunchParams } from '../src/workload/launchParams.ts';
import { opsPerContainer } from '../src/workload/generators.ts';
import { ExpeditedRcu } from '../src/workload/kernelPath.ts';
import { RwSemaphore } from '../src/locks/rwsem.ts';

const kernel = loadKernelModel('linux-6.6');
const specOf = (name: string, restriction = {}) => machineSpecFromTopology(buildTopology(loadHardwareModel(name), restriction));

function launch(spec: MachineSpec, k: number, launchParams: Record<string, unknown>, seed = 's') {
  const params: LaunchParams = launchSchema.parse({ containers: [k], ...launchParams });
  const m = new Machine(spec, { seed, placement: 'spread' });
  return simulateLaunch(m, kernel, params, buildLaunchTrace(params, k, kernel, seed));
}

describe('a launch on a small machine', () => {
  const base = { variant: 'per-layer-idmap', layers: 5, host: { baseMounts: 40 } };

  it('runs every op of every container, and leaves only the overlays in the mount table at the end', () => {
    const r = launch(specOf('generic-2core'), 3, base);
    expect(r.metrics.syscalls).toBe(3 * opsPerContainer('per-layer-idmap', 5));
    expect(r.metrics.unfinished).toBe(0);
    expect(r.metrics.successRate).toBe(1);
    // Each pass attaches 5 binds then unmounts them; the 2 overlays per container stay.
    expect(r.metrics.maxMountTable).toBeGreaterThan(40 + 2);
    expect(r.metrics.maxMountTable).toBeLessThanOrEqual(40 + 3 * (5 + 2));
    expect(r.metrics.launchP50S).toBeGreaterThan(kernel.host.containerStartNs.value * 1e-9);
  });

  it('is deterministic for a seed and changes with it', () => {
    const spec = specOf('m7a.24xlarge');
    const params = { ...base, arrival: { kind: 'rate', perSecond: 200 } };
    const a = launch(spec, 6, params, 'one');
    expect(launch(spec, 6, params, 'one').metrics).toEqual(a.metrics);
    expect(launch(spec, 6, params, 'two').metrics.launchMeanS).not.toBe(a.metrics.launchMeanS);
    expect(a.folded).toMatch(/^containerd;open_tree;/m);
  });

  it('background path walks spin on mount_lock and slow launches; more walks, more spinning', () => {
    const spec = specOf('r5.metal');
    const quiet = launch(spec, 20, { variant: 'per-layer-idmap', layers: 20, host: { pathLookupsPerSecPerLaunch: 0, pathLookupsPerSec: 0 } });
    const busy = launch(spec, 20, { variant: 'per-layer-idmap', layers: 20, host: { pathLookupsPerSecPerLaunch: 1_000_000 } });
    expect(quiet.metrics.backgroundSpunWalks).toBe(0);
    expect(busy.metrics.backgroundSpunWalks).toBeGreaterThan(0);
    expect(busy.metrics.cpuSpinShare).toBeGreaterThan(quiet.metrics.cpuSpinShare);
    expect(busy.metrics.launchP50S).toBeGreaterThan(quiet.metrics.launchP50S);
  });

  it('under the same reader pressure the chiplet fabric spins less than the mesh (re-reads merged per CCX)', () => {
    const host = { pathLookupsPerSecPerLaunch: 1_000_000 };
    const mesh = launch(specOf('m7i.metal-24xl', { smt: false }), 30, { variant: 'per-layer-idmap', layers: 20, host });
    const chiplet = launch(specOf('m7a.24xlarge', { cores: 48 }), 30, { variant: 'per-layer-idmap', layers: 20, host });
    expect(chiplet.metrics.backgroundSpinS).toBeLessThan(mesh.metrics.backgroundSpinS);
  });
});

describe('expedited RCU', () => {
  for (const worker of [false, true]) {
    it(`callers during a grace period share the next one (${worker ? 'normal-priority worker' : 'timer'})`, () => {
      const m = new Machine(specOf('generic-2core'), { seed: 'r' });
      const rcu = new ExpeditedRcu(m, 10_000, 0, null, worker);
      const done: number[] = [];
      for (const [i, at] of [0, 1_000, 2_000, 3_000].entries()) {
        m.sim.schedule(at, {
          fire: () =>
            m.spawn(`c${i}`, function* (t) {
              yield rcu.synchronize(t);
              done.push(t.sim.now);
            }),
        });
      }
      m.sim.run();
      // The first caller starts one; the three arriving during it share a second.
      expect(rcu.gracePeriods).toBe(2);
      expect(done).toHaveLength(4);
      expect(Math.min(...done)).toBeGreaterThanOrEqual(10_000);
      expect(Math.max(...done)).toBeGreaterThanOrEqual(20_000);
    });
  }

  /**
   * Two threads keep both CPUs in kernel work for 300 us while a third asks
   * for a 100 us grace period: the timer ends it at 100 us (its caller then
   * waits for a CPU until 300 us); a normal-priority worker needs a CPU to
   * start it, so it ends 100 us after a CPU frees.
   */
  function busyGracePeriod(worker: boolean): number {
    const m = new Machine(specOf('generic-2core'), { seed: 'r' });
    const rcu = new ExpeditedRcu(m, 100_000, 0, null, worker);
    let doneAt = -1;
    m.spawn('caller', function* (t) {
      yield rcu.synchronize(t);
      doneAt = t.sim.now;
    });
    for (const name of ['hog1', 'hog2']) {
      m.spawn(name, function* (t) {
        t.enterKernel();
        t.work(300_000);
        yield;
        t.exitKernel();
      });
    }
    m.sim.run();
    return doneAt;
  }

  it('a normal-priority worker waits for a CPU before the grace period can start; a timer does not', () => {
    const timer = busyGracePeriod(false);
    const worker = busyGracePeriod(true);
    expect(timer).toBeGreaterThanOrEqual(300_000);
    expect(timer).toBeLessThan(400_000);
    expect(worker).toBeGreaterThanOrEqual(400_000);
  });

  /**
   * A grace period of 20 us asked for from CPU 0 while CPU 1 runs a thread
   * for 400 us, in kernel mode or in user mode: when the caller is woken.
   */
  function gpBesideBusyCpu(kernel: boolean, opts: { preemptibleRcu?: boolean; preemptionOff?: boolean } = {}): number {
    const m = new Machine(specOf('generic-2core'), { seed: 'r' });
    const rcu = new ExpeditedRcu(m, 20_000, 0, null, true, opts.preemptibleRcu ?? false);
    let doneAt = -1;
    m.spawn('busy', function* (t) {
      if (kernel) t.enterKernel();
      if (opts.preemptionOff) t.atomicDepth++;
      t.work(400_000);
      yield;
      if (opts.preemptionOff) t.atomicDepth--;
      if (kernel) t.exitKernel();
    }, [1]);
    m.spawn('caller', function* (t) {
      t.work(10_000);
      yield;
      yield rcu.synchronize(t);
      doneAt = t.sim.now;
    }, [0]);
    m.sim.run();
    return doneAt;
  }

  it('a grace period waits for a busy CPU whose thread is in kernel mode until it leaves the kernel (!PREEMPT_RCU: rcu_exp_need_qs)', () => {
    // In user mode the other CPU reports at the IPI: the 20 us grace period (plus the worker's turn on CPU 0).
    const user = gpBesideBusyCpu(false);
    expect(user).toBeLessThan(100_000);
    // In kernel mode it can only be asked to reschedule: the grace period ends when its 400 us of work does.
    const kernel = gpBesideBusyCpu(true);
    expect(kernel).toBeGreaterThanOrEqual(400_000);
    expect(kernel).toBeLessThan(450_000);
  });

  it('with preemptible RCU only a CPU with preemption off holds it (the CONFIG_PREEMPT_RCU rcu_exp_handler)', () => {
    // In kernel mode with preemption on, the IPI's handler reports at once: the grace period is as short as beside user mode.
    const preemptible = gpBesideBusyCpu(true, { preemptibleRcu: true });
    expect(preemptible).toBeLessThan(100_000);
    // Holding or spinning on a spinlock (preemption off) it cannot report: the grace period waits for the thread to leave the kernel.
    const atomic = gpBesideBusyCpu(true, { preemptibleRcu: true, preemptionOff: true });
    expect(atomic).toBeGreaterThanOrEqual(400_000);
    expect(atomic).toBeLessThan(450_000);
  });

  it('a storm\'s threads count their sections with preemption off (mount_lock\'s write side, rw-semaphore spins), back to zero at the end', () => {
    const params = launchSchema.parse({ containers: [6], variant: 'per-layer-idmap', layers: 5, host: { baseMounts: 40 } });
    const m = new Machine(specOf('generic-2core'), { seed: 's', placement: 'spread' });
    let most = 0;
    const sample = { fire: () => { for (const t of m.threads) most = Math.max(most, t.atomicDepth); m.sim.schedule(1_000, sample, 0); } };
    m.sim.schedule(0, sample, 0);
    const r = simulateLaunch(m, kernel, params, buildLaunchTrace(params, 6, kernel, 's'));
    expect(r.metrics.unfinished).toBe(0);
    expect(most).toBeGreaterThanOrEqual(1);
    for (const t of m.threads) expect(t.atomicDepth, t.name).toBe(0);
  });

  it('with a normal-priority worker the next grace period starts only when the previous owner runs again (exp_mutex)', () => {
    // One CPU: the owner, woken at the end, must get the CPU back to hand exp_mutex on.
    const gap = (worker: boolean) => {
      const m = new Machine(specOf('generic-2core', { cores: 1 }), { seed: 'r' });
      const rcu = new ExpeditedRcu(m, 10_000, 0, null, worker);
      const done = new Map<string, number>();
      for (const [name, at] of [['owner', 0], ['next', 1_000]] as const) {
        m.sim.schedule(at, { fire: () => m.spawn(name, function* (t) { yield rcu.synchronize(t); done.set(name, t.sim.now); }) });
      }
      m.sim.run();
      expect(rcu.gracePeriods).toBe(2);
      return done.get('next')! - done.get('owner')!;
    };
    // Timer: the second grace period starts the instant the first ends, so
    // the two callers finish one grace period (10 us) apart. Worker: it
    // starts after the owner has run (a context switch, 2 us) and handed the
    // mutex on, so they finish further apart.
    expect(gap(false)).toBeLessThan(12_000);
    expect(gap(true)).toBeGreaterThanOrEqual(12_000);
  });
});

describe('rw-semaphore steal-mode handoff', () => {
  it('never strands a waiter: with spinning writers, readers and short holds, every thread finishes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 24 }), fc.integer({ min: 0, max: 1_000_000 }), (threads, seed) => {
        const m = new Machine(specOf('m7i.metal-24xl', { cores: 4 }), { seed: String(seed) });
        // A short handoff timeout makes the flag path frequent.
        const sem = new RwSemaphore('sem', m.coherence, { handoff: 'steal', handoffAfterNs: 2_000 });
        let finished = 0;
        for (let i = 0; i < threads; i++) {
          m.spawn(`t${i}`, function* (t) {
            for (let n = 0; n < 30; n++) {
              const write = t.rng.uniform() < 0.7;
              if (write) yield* sem.downWrite(t);
              else yield* sem.downRead(t);
              t.work(t.rng.exponential(500));
              yield;
              if (write) yield* sem.upWrite(t);
              else yield* sem.upRead(t);
              t.work(t.rng.exponential(200));
              yield;
            }
            finished++;
          });
        }
        // Bounded: a stranded or livelocked waiter shows as unfinished threads, not a hang.
        m.sim.run(50_000_000);
        expect(finished).toBe(threads);
        expect(sem.waiting).toBe(0);
      }),
      { numRuns: 40 },
    );
  });
});

describe("runc's mount namespace at container start (host.containerStartMounts)", () => {
  const spec = specOf('m7a.24xlarge');
  const quiet = { pathLookupsPerSec: 0, pathLookupsPerSecPerLaunch: 0, systemd: false, containerStartPathLookups: 0, containerStartNs: 0, runcReadsMountinfo: false };
  /** Time from rootfs to launch, mean over containers: what the start alone took. */
  const startS = (baseMounts: number, on: boolean) => {
    const r = launch(spec, 1, { variant: 'common-parent', layers: 5, host: { ...quiet, baseMounts, containerStartMounts: on } });
    return r.metrics.launchMeanS - r.metrics.rootfsMeanS;
  };

  it('is off by default, and then the start costs nothing in the kernel', () => {
    expect(launchSchema.parse({ containers: [1], variant: 'common-parent', layers: 5 }).host.containerStartMounts).toBe(false);
    expect(startS(1000, false)).toBe(0);
  });

  it("without it, runc's read of mountinfo in its slave namespace (runcReadsMountinfo, off by default) is the start's only kernel cost", () => {
    expect(launchSchema.parse({ containers: [1], variant: 'common-parent', layers: 5 }).host.runcReadsMountinfo).toBe(false);
    const read = (baseMounts: number) => {
      const r = launch(spec, 1, { variant: 'common-parent', layers: 5, host: { ...quiet, baseMounts, runcReadsMountinfo: true } });
      return r.metrics.launchMeanS - r.metrics.rootfsMeanS;
    };
    expect(read(1000)).toBeGreaterThan(0);
    expect(read(2000)).toBeGreaterThan(1.5 * read(1000));
  });

  it('costs in proportion to the mounts in the host table (copy, rslave walk, mountinfo, detach)', () => {
    const small = startS(500, true);
    const large = startS(4000, true);
    expect(small).toBeGreaterThan(0);
    // 8x the table: between 4x and 10x the time (the fixed part is small, the chunked loops scale).
    expect(large / small).toBeGreaterThan(4);
    expect(large / small).toBeLessThan(10);
  });

  it("holds mount_lock long enough to stall path walks, and labels the time as runc's", () => {
    const r = launch(spec, 4, { variant: 'common-parent', layers: 5, host: { baseMounts: 3000, pathLookupsPerSecPerLaunch: 1_000_000, containerStartMounts: true } });
    expect(r.metrics.unfinished).toBe(0);
    expect(r.metrics.backgroundSpunWalks).toBeGreaterThan(0);
    expect(r.folded).toMatch(/^runc;unshare_mntns;namespace_sem\(w\);cloneMountNs /m);
    expect(r.folded).toMatch(/^runc;umount_old_root;namespace_sem\(w\);mount_lock;umountTreeCsNs /m);
    expect(r.folded).toMatch(/^runc;mountinfo;namespace_sem\(r\);show_mountinfo /m);
  });
});

describe('work jitter (mechanisms.workJitterCv)', () => {
  const spec = specOf('generic-2core');
  const params = { variant: 'per-layer-idmap', layers: 10, host: { systemd: false, pathLookupsPerSec: 0, pathLookupsPerSecPerLaunch: 0, containerStartNs: 0, containerStartPathLookups: 0 } };
  const withJitter = (cv: number) => ({ ...kernel, mechanisms: { ...kernel.mechanisms, workJitterCv: { value: cv, source: 'test' } } });
  const run = (k: typeof kernel, seed = 's') => {
    const p: LaunchParams = launchSchema.parse({ containers: [4], ...params });
    return simulateLaunch(new Machine(spec, { seed, placement: 'spread' }), k, p, buildLaunchTrace(p, 4, k, seed));
  };

  it('without it, identical launches released together finish together; with it they drift apart, deterministically per seed', () => {
    const still = run(kernel).metrics;
    expect(still.launchMaxS - still.launchP50S).toBeLessThan(0.02 * still.launchP50S);
    const a = run(withJitter(0.3)).metrics;
    expect(run(withJitter(0.3)).metrics).toEqual(a);
    expect(a.launchMaxS - a.launchP50S).toBeGreaterThan(still.launchMaxS - still.launchP50S);
    expect(run(withJitter(0.3), 'other').metrics.launchMeanS).not.toBe(a.launchMeanS);
  });

  it('keeps the mean cost: one launch alone takes about as long with it as without', () => {
    const one = (k: typeof kernel) => {
      const p: LaunchParams = launchSchema.parse({ containers: [1], ...params, layers: 50 });
      return simulateLaunch(new Machine(spec, { seed: 's', placement: 'spread' }), k, p, buildLaunchTrace(p, 1, k, 's')).metrics.launchMeanS;
    };
    expect(one(withJitter(0.2)) / one(kernel)).toBeGreaterThan(0.93);
    expect(one(withJitter(0.2)) / one(kernel)).toBeLessThan(1.07);
  });
});

describe('the unmount of the inspection overlay (umount_overlay)', () => {
  const run = (layers: number, unmountInspection: boolean) => {
    const params: LaunchParams = launchSchema.parse({ containers: [1], variant: 'common-parent', layers, unmountInspection, host: { baseMounts: 40, systemd: false, pathLookupsPerSec: 0, pathLookupsPerSecPerLaunch: 0 } });
    const m = new Machine(specOf('generic-2core'), { seed: 's', placement: 'spread' });
    return simulateLaunch(m, kernel, params, buildLaunchTrace(params, 1, kernel, 's'), { recordOpDurations: true });
  };

  it('waits for a second grace period and puts every layer\'s private clone: it grows with layers, the bind umount does not', () => {
    const small = run(10, true), large = run(50, true);
    const [ovSmall, ovLarge] = [small.opDurations!.umount_overlay!, large.opDurations!.umount_overlay!];
    expect(ovSmall).toHaveLength(1);
    // 40 more layers, each a slow-path mntput under mount_lock and a cleanup_mnt: at least 40 x cleanupMntNs more.
    expect(ovLarge[0]! - ovSmall[0]!).toBeGreaterThan(40 * kernel.costs.cleanupMntNs!.value * 0.5);
    const bindSmall = Math.max(...small.opDurations!.umount!), bindLarge = Math.max(...large.opDurations!.umount!);
    expect(Math.abs(bindLarge - bindSmall)).toBeLessThan(0.2 * bindSmall);
    // kern_unmount_array's grace period on top of namespace_unlock's: two grace periods, the bind umount one.
    expect(ovSmall[0]! - bindSmall).toBeGreaterThan(kernel.mechanisms.rcuExpeditedBaseNs.value);
    expect(small.metrics.rcuGracePeriods - run(10, false).metrics.rcuGracePeriods).toBe(2);
  });

  it('the op log (recordOpLog) holds every call once, with the durations recordOpDurations gives, in return order', () => {
    const params: LaunchParams = launchSchema.parse({ containers: [2], variant: 'per-layer-idmap', layers: 4, host: { baseMounts: 40, systemd: false, pathLookupsPerSec: 0, pathLookupsPerSecPerLaunch: 0 } });
    const trace = buildLaunchTrace(params, 2, kernel, 's');
    const r = simulateLaunch(new Machine(specOf('generic-2core'), { seed: 's', placement: 'spread' }), kernel, params, trace, { recordOpDurations: true, recordOpLog: true });
    const log = r.opLog!;
    expect(log).toHaveLength(trace.ops.count);
    expect(new Set(log.map((e) => e.container))).toEqual(new Set(trace.header.containers.map((c) => c.id)));
    for (const op of Object.keys(r.opDurations!)) expect(log.filter((e) => e.op === op).map((e) => e.durNs)).toEqual(r.opDurations![op]);
    for (let i = 1; i < log.length; i++) expect(log[i]!.startNs + log[i]!.durNs).toBeGreaterThanOrEqual(log[i - 1]!.startNs + log[i - 1]!.durNs - 1e-6);
    // Asked for nothing, it keeps nothing.
    expect(simulateLaunch(new Machine(specOf('generic-2core'), { seed: 's', placement: 'spread' }), kernel, params, trace).opLog).toBeUndefined();
  });

  it('is one more unmount in the launch, and the overlay leaves the mount table', () => {
    const plain = run(10, false), unmounted = run(10, true);
    expect(unmounted.metrics.syscalls - plain.metrics.syscalls).toBe(1);
    expect(unmounted.metrics.rootfsMeanS).toBeGreaterThan(plain.metrics.rootfsMeanS);
  });

  it('a kernel model without the entry (a calibration written before it) is refused with one located line', () => {
    const old = structuredClone(kernel) as typeof kernel;
    delete (old.syscalls as Record<string, unknown>).umount_overlay;
    const params: LaunchParams = launchSchema.parse({ containers: [1], variant: 'common-parent', layers: 5, unmountInspection: true });
    expect(() => simulateLaunch(new Machine(specOf('generic-2core'), { seed: 's' }), old, params, buildLaunchTrace(params, 1, old, 's'))).toThrow(/syscalls\.umount_overlay: expected an entry for umount_overlay/);
  });
});

describe('one process per container (processPerContainer)', () => {
  const run = (k: number, processPerContainer: boolean, forkNs: number) => {
    const kern = structuredClone(kernel) as typeof kernel;
    kern.host.processForkNs = { value: forkNs, source: 'test' };
    const params: LaunchParams = launchSchema.parse({ containers: [k], variant: 'common-parent', layers: 5, processPerContainer, host: { baseMounts: 40, systemd: false, pathLookupsPerSec: 0, pathLookupsPerSecPerLaunch: 0 } });
    const m = new Machine(specOf('generic-2core'), { seed: 's', placement: 'spread' });
    return simulateLaunch(m, kern, params, buildLaunchTrace(params, k, kern, 's'));
  };

  it('forks the containers one after another: the last waits for every fork before it, and the mean grows with the fork cost', () => {
    const forkNs = 500_000;
    const r = run(8, true, forkNs);
    expect(r.metrics.unfinished).toBe(0);
    // The 8th container cannot start before 8 forks of 0.5 ms on the forking thread.
    expect(r.metrics.launchMaxS - (kernel.host.containerStartNs.value / 1e9)).toBeGreaterThanOrEqual((8 * forkNs) / 1e9);
    // Serial forks put on average (K+1)/2 forks before a launch.
    expect(r.metrics.rootfsMeanS - run(8, false, forkNs).metrics.rootfsMeanS).toBeGreaterThan((3 * forkNs) / 1e9);
  });

  it('a kernel model without a fork cost is refused with one line, not run with forks that cost nothing', () => {
    const old = structuredClone(kernel) as typeof kernel;
    delete (old.host as Record<string, unknown>).processForkNs;
    const params: LaunchParams = launchSchema.parse({ containers: [2], variant: 'common-parent', layers: 5, processPerContainer: true });
    expect(() => simulateLaunch(new Machine(specOf('generic-2core'), { seed: 's' }), old, params, buildLaunchTrace(params, 2, old, 's'))).toThrow(/host\.processForkNs: expected the CPU cost of forking/);
  });

  it('with a fork that costs nothing, processes launch like threads (minus the thread\'s wake-up)', () => {
    const procs = run(4, true, 0), threads = run(4, false, 0);
    expect(Math.abs(procs.metrics.rootfsMeanS - threads.metrics.rootfsMeanS)).toBeLessThan(0.1 * threads.metrics.rootfsMeanS);
  });

  it("each process's page faults are CPU at its start: on 2 CPUs, 8 processes of 0.6 ms add at least 4 x 0.6 ms to the last launch; threads pay none", () => {
    const withFaults = (k: number, processPerContainer: boolean, faultNs: number) => {
      const kern = structuredClone(kernel) as typeof kernel;
      kern.host.processForkNs = { value: 0, source: 'test' };
      kern.host.processFaultNs = { value: faultNs, source: 'test' };
      const params: LaunchParams = launchSchema.parse({ containers: [k], variant: 'common-parent', layers: 5, processPerContainer, host: { baseMounts: 40, systemd: false, pathLookupsPerSec: 0, pathLookupsPerSecPerLaunch: 0 } });
      return simulateLaunch(new Machine(specOf('generic-2core'), { seed: 's', placement: 'spread' }), kern, params, buildLaunchTrace(params, k, kern, 's'));
    };
    const faultNs = 600_000;
    const none = withFaults(8, true, 0), faulted = withFaults(8, true, faultNs);
    expect(faulted.metrics.unfinished).toBe(0);
    // 8 x 0.6 ms of CPU on 2 CPUs: the storm ends at least 2.4 ms later.
    expect(faulted.metrics.launchMaxS - none.metrics.launchMaxS).toBeGreaterThanOrEqual((4 * faultNs) / 1e9);
    expect(faulted.metrics.rootfsMeanS).toBeGreaterThan(none.metrics.rootfsMeanS + faultNs / 1e9);
    // Threads share the runtime's warm address space: no faults to pay.
    expect(withFaults(8, false, faultNs).metrics.rootfsMeanS).toBe(withFaults(8, false, 0).metrics.rootfsMeanS);
  });

  it('a fork beside another running thread costs processForkBusyFactor times more; a lone fork does not', () => {
    const forks = (k: number, factor: number | undefined) => {
      const kern = structuredClone(kernel) as typeof kernel;
      kern.host.processForkNs = { value: 500_000, source: 'test' };
      if (factor !== undefined) kern.host.processForkBusyFactor = { value: factor, source: 'test' };
      const params: LaunchParams = launchSchema.parse({ containers: [k], variant: 'common-parent', layers: 5, processPerContainer: true, host: { baseMounts: 40, systemd: false, pathLookupsPerSec: 0, pathLookupsPerSecPerLaunch: 0 } });
      return simulateLaunch(new Machine(specOf('generic-2core'), { seed: 's', placement: 'spread' }), kern, params, buildLaunchTrace(params, k, kern, 's'));
    };
    // One container: its fork has nothing beside it.
    expect(forks(1, 2.5).metrics.rootfsMeanS).toBe(forks(1, undefined).metrics.rootfsMeanS);
    // Eight: from the second fork on, children still launching run beside the parent (not all of them:
    // a child of 5 layers may be done before the next fork), and each such fork costs 2.5 x 0.5 ms:
    // the last launch at least 3 x 0.75 ms later than with the factor absent.
    const busy = forks(8, 2.5), plain = forks(8, undefined);
    expect(busy.metrics.unfinished).toBe(0);
    expect(busy.metrics.launchMaxS - plain.metrics.launchMaxS).toBeGreaterThan((3 * 750_000) / 1e9);
    expect(forks(8, 1).metrics.rootfsMeanS).toBe(plain.metrics.rootfsMeanS);
  });

  it("a container process's start and exit run on its own CPU (processStartCpuNs, processExitCpuNs), slower beside another running thread", () => {
    const life = (k: number, o: { startNs?: number; exitNs?: number; factor?: number }) => {
      const kern = structuredClone(kernel) as typeof kernel;
      kern.host.processForkNs = { value: 200_000, source: 'test' };
      if (o.startNs) kern.host.processStartCpuNs = { value: o.startNs, source: 'test' };
      if (o.exitNs) kern.host.processExitCpuNs = { value: o.exitNs, source: 'test' };
      if (o.factor) kern.host.processForkBusyFactor = { value: o.factor, source: 'test' };
      const params: LaunchParams = launchSchema.parse({ containers: [k], variant: 'common-parent', layers: 5, processPerContainer: true, host: { baseMounts: 40, systemd: false, pathLookupsPerSec: 0, pathLookupsPerSecPerLaunch: 0 } });
      return simulateLaunch(new Machine(specOf('generic-2core'), { seed: 's', placement: 'spread' }), kern, params, buildLaunchTrace(params, k, kern, 's')).metrics;
    };
    // Alone: the child's start comes before its first op, at least its length later; its exit comes after its launch ends.
    const none = life(1, {});
    expect(life(1, { startNs: 500_000 }).rootfsMeanS - none.rootfsMeanS).toBeGreaterThanOrEqual(0.5e-3 * 0.9);
    expect(life(1, { exitNs: 2_000_000 }).rootfsMeanS).toBe(none.rootfsMeanS);
    // Eight: each exit takes CPU from the launches still running, so later launches end later.
    const plain8 = life(8, { startNs: 500_000 });
    const exiting8 = life(8, { startNs: 500_000, exitNs: 2_000_000 });
    expect(exiting8.unfinished).toBe(0);
    expect(exiting8.launchMaxS).toBeGreaterThan(plain8.launchMaxS + 2e-3);
    // Beside the other launches the starts cost the factor more.
    expect(life(8, { startNs: 500_000, factor: 2.5 }).launchMaxS).toBeGreaterThan(plain8.launchMaxS + 1e-3);
  });
});
