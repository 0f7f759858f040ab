/**
 * A machine instance: one simulator, one scheduler over the machine's logical
 * CPUs, one coherence fabric. Built from a `MachineSpec`, which is plain data
 * derived from a hardware model file and a scenario's restrictions; nothing
 * here knows any particular machine.
 */
import { Simulator } from './engine/simulator.ts';
import { RandomStreams } from './engine/random.ts';
import { Scheduler, type Placement, type WakeAware } from './cpu/scheduler.ts';
import { SimThread, type ThreadBody } from './cpu/thread.ts';
import { ActivityLedger, ActivityNames } from './cpu/activity.ts';
import type { CoherenceFabric, FabricLayout, TransferLatencies } from './hardware/coherence.ts';
import { MeshFabric } from './hardware/meshFabric.ts';
import { ChipletFabric } from './hardware/chipletFabric.ts';

export type FabricKind = 'mesh' | 'chiplet';

export interface MachineSpec {
  name: string;
  fabric: FabricKind;
  layout: FabricLayout;
  siblings: number[][];
  latencies: TransferLatencies;
  pauseNs: number;
  smtSlowdown: number;
  /** Core clock, GHz (the hardware model's cpu.ghz): CPU work of a kernel model scales with it (src/workload/clock.ts). */
  ghz?: number;
  /**
   * Mesh only: the home agent's TOR admits one request per line at a time
   * (absent: true). false serves them in parallel (the tor-queue ablation).
   */
  torQueue?: boolean;
  /**
   * Every spinner of a herd simulated on its own (`locksim run --detailed`,
   * `simulation.detailed`); absent or false: herds in aggregate
   * (CoherenceFabric.detailed, docs/model.md 2b).
   */
  detailedSpinners?: boolean;
  /**
   * When a transfer's snoop reaches the core that supplies the line, as a
   * share of the transfer's latency (CoherenceFabric.snoopShare; absent: 0.5,
   * the request's leg of a two-leg transfer). 1 hands the line over only at
   * the fill, as before 2026-11-30 (for the sensitivity table in docs/validation.md).
   */
  snoopShare?: number;
  /** Scheduler constants (from the kernel model; defaults below). */
  quantumNs?: number;
  contextSwitchNs?: number;
  wakeupNs?: number;
  /** Wake-ups that know their waker (the hardware model's `wakeup`; see SchedulerParams.wakeAware). */
  wakeAware?: WakeAware;
}

export interface MachineOptions {
  seed: string;
  placement?: Placement;
}

/**
 * The scheduler's time slice on a machine of `cpus` CPUs: the base slice
 * (sysctl_sched_base_slice, 0.75 ms; sched_min_granularity before EEVDF)
 * times 1 + log2 of the CPU count capped at 8 (kernel/sched/fair.c,
 * get_update_sysctl_factor, SCHED_TUNABLESCALING_LOG): 1.5 ms on 2 CPUs,
 * 3 ms from 8 CPUs on.
 */
export function schedulerSliceNs(cpus: number): number {
  return 750_000 * (1 + Math.floor(Math.log2(Math.max(1, Math.min(cpus, 8)))));
}

/** A woken thread's delay before it runs on an idle CPU, when the machine does not say. */
export const DEFAULT_WAKEUP_NS = 5_000;
/** A context switch when the machine's model does not give one. */
export const DEFAULT_CONTEXT_SWITCH_NS = 2_000;

export class Machine {
  readonly sim = new Simulator();
  readonly random: RandomStreams;
  readonly scheduler: Scheduler;
  readonly coherence: CoherenceFabric;
  readonly activities = new ActivityNames();
  readonly ledger: ActivityLedger;
  readonly threads: SimThread[] = [];

  constructor(readonly spec: MachineSpec, opts: MachineOptions) {
    this.random = new RandomStreams(opts.seed);
    this.ledger = new ActivityLedger(this.activities);
    this.scheduler = new Scheduler(
      this.sim,
      {
        siblings: spec.siblings,
        smtSlowdown: spec.smtSlowdown,
        quantumNs: spec.quantumNs ?? schedulerSliceNs(spec.siblings.length),
        contextSwitchNs: spec.contextSwitchNs ?? DEFAULT_CONTEXT_SWITCH_NS,
        wakeupNs: spec.wakeupNs ?? DEFAULT_WAKEUP_NS,
        ...(spec.wakeAware ? { wakeAware: spec.wakeAware } : {}),
        placement: opts.placement ?? 'spread',
      },
      this.random.stream('scheduler'),
    );
    const shares = [spec.wakeAware?.waitOnPreviousShare ?? 0, spec.wakeAware?.preemptShare ?? 0];
    if (shares.some((x) => x > 0 && x < 1)) this.scheduler.waitDraws = this.random.stream('wakeup placement');
    const Fabric = spec.fabric === 'mesh' ? MeshFabric : ChipletFabric;
    this.coherence = new Fabric(this.sim, spec.layout, spec.latencies, spec.pauseNs);
    if (this.coherence instanceof MeshFabric) this.coherence.torQueue = spec.torQueue ?? true;
    this.coherence.detailed = spec.detailedSpinners ?? false;
    if (spec.snoopShare !== undefined) this.coherence.snoopShare = spec.snoopShare;
    this.coherence.smtFactor = (cpu) => this.scheduler.slowdown(cpu);
    // A core's first CPU stands for it: the core is saturated when that CPU and all its siblings have threads.
    const firstCpuOfCore = new Int32Array(spec.layout.cores).fill(-1);
    spec.layout.core.forEach((core, cpu) => {
      if (firstCpuOfCore[core] < 0) firstCpuOfCore[core] = cpu;
    });
    this.coherence.coreFactor = (core) => {
      const cpu = firstCpuOfCore[core];
      return cpu >= 0 && spec.siblings[cpu].length > 0 && this.scheduler.coreSaturated(cpu) ? spec.smtSlowdown : 1;
    };
  }

  get cpus(): number {
    return this.spec.layout.core.length;
  }

  /** Create and start a thread; `affinity` pins it to those CPUs; `addressSpace`: its process (SimThread.addressSpace). */
  spawn(name: string, body: ThreadBody, affinity: number[] = [], addressSpace = 0): SimThread {
    const t = this.newThread(name, body);
    t.affinity = affinity;
    t.addressSpace = addressSpace;
    this.scheduler.start(t);
    return t;
  }

  /**
   * Create a thread that has run before on `lastCpu` and now sleeps (a thread
   * parked at a gate): its body starts when something wakes it, placed and
   * charged as any wake-up of a sleeping thread; the run waits for it.
   */
  spawnParked(name: string, body: ThreadBody, lastCpu: number): SimThread {
    const t = this.newThread(name, body);
    t.lastCpu = lastCpu;
    this.scheduler.adopt(t);
    return t;
  }

  /**
   * Create a kernel thread that waits to be woken (a kworker): it takes a CPU
   * only when something wakes it, and the run ends without waiting for it.
   */
  spawnDaemon(name: string, body: ThreadBody): SimThread {
    const t = this.newThread(name, body);
    t.daemon = true;
    return t;
  }

  /** A thread with its own random stream, known to the ledger; not yet given to the scheduler. */
  private newThread(name: string, body: ThreadBody): SimThread {
    const id = this.threads.length;
    const t = new SimThread(id, name, this.sim, this.scheduler, this.random.stream(`thread/${name}`), this.ledger, body);
    this.ledger.register(id, this.sim.now);
    this.threads.push(t);
    return t;
  }
}
