/**
 * Logical CPUs and the run queue.
 *
 * A CPU runs at most one thread. A thread that spins keeps its CPU; a thread
 * that sleeps gives it up. When more threads want to run than there are CPUs,
 * each CPU's current thread is preempted at the end of its time slice in favour
 * of the longest-waiting runnable thread (round robin, like CFS with equal
 * weights at this granularity), or on wake-aware machines of the thread EEVDF
 * picks (see `fair`). Slice timers are only armed while someone
 * waits, so an uncontended run costs no scheduler events.
 *
 * SMT: a thread's work runs `smtSlowdown` times slower while a thread runs on a
 * sibling of its CPU (the siblings share the core's pipeline).
 *
 * Run queues: one for the machine (the default: any CPU that frees takes the
 * longest-waiting thread), or one per CPU (`perCpuQueues`, as Linux has): a
 * woken thread takes an idle CPU if there is one (its previous CPU first, as
 * select_idle_sibling does), else it queues on its previous CPU; a CPU that
 * frees takes only its own queue's threads, and an idle CPU takes a thread
 * waiting on another CPU only at the periodic load balance (every
 * `balanceIntervalNs`). A thread can so wait behind a CPU-bound thread while
 * another CPU idles in short gaps between sleeps.
 */
import type { EventTarget, Simulator } from '../engine/simulator.ts';
import type { RandomStream } from '../engine/random.ts';
import { SimThread, ThreadState } from './thread.ts';

export type Placement = 'spread' | 'compact' | 'scatter';

export interface SchedulerParams {
  /** Logical CPU -> its SMT siblings. */
  siblings: number[][];
  /** Work slowdown factor while a sibling is busy. */
  smtSlowdown: number;
  /** Time slice when threads wait for a CPU, ns. */
  quantumNs: number;
  /** Cost of switching a CPU to another thread, ns. */
  contextSwitchNs: number;
  /** Delay from waking a sleeping thread to it running on an idle CPU, ns (with `wakeAware`: onto the waker's own CPU). */
  wakeupNs: number;
  /**
   * Wake-ups that know their waker (the hardware model's measured `wakeup`;
   * per-CPU queues only): see `placeWoken`. Absent: every wake-up costs
   * wakeupNs, an idle CPU is always taken, and a woken thread never preempts.
   */
  wakeAware?: WakeAware;
  placement: Placement;
}

/** How wake-ups cost and where they land (hardware model `wakeup`, measured by probes/wakeup.c). */
export interface WakeAware {
  /** A wake-up onto another, idle CPU than the waker's: an IPI, and on a virtual machine the vCPU's wake. */
  remoteNs: number;
  /** A wakee whose previous CPU is busy with its waker waits there with this probability (else it takes an idle CPU). */
  waitOnPreviousShare: number;
  /** A wakee whose previous CPU is busy with another thread queues there and preempts it with this probability. */
  preemptShare: number;
  /**
   * What an IPI takes from the thread on the CPU it lands on, ns (0: nothing):
   * a preempting wake-up's reschedule IPI delays the wakee by it (the CPU
   * handles the interrupt first), or the thread it cannot preempt yet.
   */
  ipiNs: number;
  /** The same for an expedited RCU grace period's IPI into a busy CPU (src/workload/kernelPath.ts, ExpeditedRcu). */
  rcuExpeditedIpiNs: number;
  /**
   * What sending a wake-up's IPI costs the waker's CPU, ns (0: nothing): a
   * wake-up onto another CPU than the waker's, idle (ttwu_queue_wakelist)
   * or to be preempted (wakeup_preempt's reschedule IPI). On a virtual
   * machine the send is an exit to the host.
   */
  ipiSendNs: number;
  /** The host's halt polling of an idle vCPU (hardware `wakeup.haltPoll`): see HaltPoll. Absent: a wake-up onto an idle CPU always costs remoteNs. */
  haltPoll?: HaltPoll;
  /** What switching a CPU to another process's memory costs (hardware `wakeup.addressSpaceSwitch`): see AddressSpaceSwitch. Absent: nothing. */
  addressSpaceSwitch?: AddressSpaceSwitch;
}

/**
 * A context switch into another process's address space (switch_mm_irqs_off:
 * the new page-table root into CR3). Cheap on bare metal with PCIDs; on a
 * shadow-paging virtual machine the CR3 write exits to the host, which finds
 * or builds the shadow root for it. The host keeps the root it switched away
 * from, so a switch back to the process that ran just before costs
 * `recentNs`, a switch to any other `otherNs` (probes/wakeup.c,
 * addressSpace: a token passed round a ring of 2 and of 3 processes on one
 * CPU, less the same ring of threads). Kernel threads (daemons) borrow the
 * loaded address space and switch nothing (lazy TLB).
 */
export interface AddressSpaceSwitch {
  recentNs: number;
  otherNs: number;
}

/**
 * How the host polls an idle vCPU before it blocks it (KVM's adaptive halt
 * polling: virt/kvm/kvm_main.c, kvm_vcpu_halt, grow_halt_poll_ns and
 * shrink_halt_poll_ns; Documentation/virt/kvm/halt-polling.rst). A vCPU that
 * halts is polled by the host for its window, then its thread blocks on the
 * host. A wake-up that arrives within the window costs `remoteNs`; one after
 * it waits for the host to run the vCPU's thread again (`haltedNs`).
 * After each halt the window adapts, per vCPU: unchanged if the wake-up came
 * within it; divided by `shrink` (0: reset to 0; below `growStartNs`: 0) if
 * the halt, the host's wake-up included, lasted longer than `maxNs`;
 * otherwise multiplied by `grow` (at least `growStartNs`, at most `maxNs`).
 * A wake-up a while after the last one therefore finds the vCPU blocked.
 * Measured on the 2-vCPU guest (ftrace of storms, 2026-12-01): wake-list
 * IPIs onto a vCPU idle under 10 us land in a median 6 us, after 80 us or
 * more in 70-80 us.
 */
export interface HaltPoll {
  haltedNs: number;
  maxNs: number;
  growStartNs: number;
  grow: number;
  shrink: number;
}

/**
 * TICK_NSEC in EEVDF's bound on a sleeper's lag (update_entity_lag: the
 * largest slice plus a tick), at CONFIG_HZ=250 (this repository's measured
 * guest; distributions build 250 or 1000). It only bounds lags of
 * milliseconds, which storms of microsecond calls do not reach.
 */
const LAG_TICK_NS = 4_000_000;

const DISPATCH = 0;
const SLICE = 1;
/**
 * A slice timer's argument carries its CPU's epoch modulo 2^17, so that it
 * stays a 32-bit integer (Simulator) on machines of up to 4096 CPUs however
 * long the run: a timer is void once its CPU changed hands, and 2^17 changes
 * of one CPU within one slice cannot happen.
 */
const EPOCH_MASK = (1 << 17) - 1;

export class Scheduler implements EventTarget {
  /** The thread on each CPU, or null: written only by `occupy` and `vacate`, which keep `busySiblings`. */
  private readonly onCpu: (SimThread | null)[];
  /**
   * Per CPU: how many of its SMT siblings have a thread. `slowdown` (every
   * piece of work and every cache-line transfer) and `coreSaturated` (every
   * transfer from an owner's core) read it instead of looping over the
   * siblings; the same answers.
   */
  private readonly busySiblings: Int32Array;
  /** CPUs with a thread (kept by `occupy` and `vacate`; `demand` reads it). */
  private busyCpus = 0;
  /** CPU reserved for a thread whose dispatch event is in flight. */
  private readonly reserved: boolean[];
  /**
   * Per CPU: it is reserved for a thread woken onto it while it was idle,
   * and that thread is still on its way (the kernel's wake list of the CPU
   * is not empty: ttwu_queue_wakelist). Set by placeWoken after it reserves
   * a free CPU, cleared when the dispatch lands (every reservation is of a
   * CPU with no thread and none on its way, so no other place clears it).
   */
  private readonly wakingFromIdle: boolean[];
  /** Per CPU: how many times a thread was put on it (`occupy`); see `occupancy`. */
  private readonly occupancies: number[];
  /** Bumped whenever a CPU changes hands, so a slice timer set for its previous thread is ignored. */
  private readonly sliceEpoch: number[];
  private readonly sliceArmed: boolean[];
  private readonly pendingDispatch: (SimThread | null)[];
  /** Per CPU: its pending slice event is a wake-up's preemption IPI (preemptSoon), not a slice's end. */
  private readonly ipiDue: boolean[];
  /** Per CPU: when its last thread left it (where an idle CPU's halt starts). */
  private readonly idleSince: Float64Array;
  /** Per CPU: the host's halt-polling window of its vCPU now (wakeAware.haltPoll), ns. */
  private readonly pollNs: Float64Array;
  /** What a switch into another address space costs (wakeAware.addressSpaceSwitch), or null: nothing to track. */
  private readonly spaceSwitch: AddressSpaceSwitch | null;
  /** Per CPU (addressSpaceSwitch): the address space loaded now and the one before it (SimThread.addressSpace). */
  private readonly spaceNow: Int32Array;
  private readonly spaceBefore: Int32Array;
  private readonly runQueue: SimThread[] = [];
  private queueHead = 0;
  /** Per-CPU run queues (perCpuQueues), oldest first. */
  private cpuQueues: SimThread[][] = [];
  /**
   * Per CPU (EEVDF, wake-aware machines): the average vruntime of its run
   * queue when last computed, where a thread placed on an empty queue starts.
   */
  private readonly cpuV: Float64Array;
  private waitingOnCpus = 0;
  private balanceArmed = false;
  private readonly balancer = { fire: () => this.balance() };
  /**
   * One run queue per CPU (see the file comment), with a periodic balance
   * every `balanceIntervalNs`; null: one queue for the machine. Set before
   * any thread starts (the kernel model says which, src/workload/launch.ts).
   */
  perCpuQueues: { balanceIntervalNs: number } | null = null;
  private live = 0;
  private readonly cpuCount: number;
  onAllDone: (() => void) | null = null;

  constructor(
    readonly sim: Simulator,
    readonly params: SchedulerParams,
    private readonly rng: RandomStream,
  ) {
    this.cpuCount = params.siblings.length;
    this.onCpu = new Array(this.cpuCount).fill(null);
    this.busySiblings = new Int32Array(this.cpuCount);
    this.reserved = new Array(this.cpuCount).fill(false);
    this.wakingFromIdle = new Array(this.cpuCount).fill(false);
    this.occupancies = new Array(this.cpuCount).fill(0);
    this.sliceEpoch = new Array(this.cpuCount).fill(0);
    this.sliceArmed = new Array(this.cpuCount).fill(false);
    this.pendingDispatch = new Array(this.cpuCount).fill(null);
    this.ipiDue = new Array(this.cpuCount).fill(false);
    this.idleSince = new Float64Array(this.cpuCount);
    // Every window starts at 0: a run begins on a machine that idled before
    // it, whose vCPUs' long halts shrank their windows (KVM's shrink: to 0
    // below the grow start).
    this.pollNs = new Float64Array(this.cpuCount);
    this.spaceSwitch = params.wakeAware?.addressSpaceSwitch ?? null;
    // Every CPU starts in the first process's memory (address space 0: the one that starts the run), none before it.
    this.spaceNow = new Int32Array(this.cpuCount);
    this.spaceBefore = new Int32Array(this.cpuCount).fill(-1);
    this.cpuQueues = Array.from({ length: this.cpuCount }, () => []);
    this.cpuV = new Float64Array(this.cpuCount);
    // A fraction once, before any code runs on it, so V8 keeps the field a
    // double from the start (thread.ts's constructor says why).
    this.sharedCpuFactor = 0.5;
    this.sharedCpuFactor = 1;
  }

  get cpus(): number {
    return this.cpuCount;
  }

  /** Threads not yet finished. */
  get liveThreads(): number {
    return this.live;
  }

  /** Count `t` as live without making it runnable: a thread created asleep, which a wake() starts (Machine.spawnParked). */
  adopt(_t: SimThread): void {
    this.live++;
  }

  /** Start a new thread: it runs as soon as a CPU is free for it. */
  start(t: SimThread): void {
    this.live++;
    this.makeRunnable(t, 0);
  }

  /** Work slowdown for a thread on `cpu`: SMT contention from busy siblings. */
  slowdown(cpu: number): number {
    return this.busySiblings[cpu] > 0 ? this.params.smtSlowdown * this.sharedCpuFactor : this.sharedCpuFactor;
  }

  /** Whether `cpu` and every SMT sibling of it have a thread (its core has no idle hardware thread). */
  coreSaturated(cpu: number): boolean {
    return this.onCpu[cpu] !== null && this.busySiblings[cpu] === this.params.siblings[cpu].length;
  }

  /**
   * A count that changes whenever a thread is put on `cpu`: equal at two
   * instants of one thread's run only if the CPU ran nothing else and did
   * not idle between them (what a cache that another thread's work or the
   * host's, while the vCPU idles, would evict still holds: kernelPath.ts's
   * warm walk).
   */
  occupancy(cpu: number): number {
    return this.occupancies[cpu]!;
  }

  /** Put `t` on the free `cpu`. */
  private occupy(cpu: number, t: SimThread): void {
    this.occupancies[cpu]!++;
    if (this.onCpu[cpu] === null) {
      this.busyCpus++;
      for (const s of this.params.siblings[cpu]) this.busySiblings[s]++;
    }
    this.onCpu[cpu] = t;
    t.ranFrom = this.sim.now;
  }

  /** `cpu` has no thread now (whether it had one or not). */
  private vacate(cpu: number): void {
    const t = this.onCpu[cpu];
    if (t !== null) {
      this.busyCpus--;
      for (const s of this.params.siblings[cpu]) this.busySiblings[s]--;
      t.vruntime += this.sim.now - t.ranFrom;
    }
    this.onCpu[cpu] = null;
    this.idleSince[cpu] = this.sim.now;
  }

  /**
   * Work stretch from load that is not simulated thread by thread (background
   * path walks, spinning or walking): when simulated threads and that load
   * together want more CPUs than there are, everyone gets a fair share
   * (CFS), so simulated work runs (demand / cpus) times slower.
   */
  sharedCpuFactor = 1;

  /** Simulated threads that want a CPU now: running plus waiting in the run queue. */
  get demand(): number {
    return this.busyCpus + this.queueLength();
  }

  /** Threads waiting in the run queue(s) for a CPU. */
  get queued(): number {
    return this.queueLength();
  }

  /** Thread on `cpu` (or null). */
  threadOn(cpu: number): SimThread | null {
    return this.onCpu[cpu];
  }

  /** Threads waiting in `cpu`'s run queue (per-CPU queues; 0 with one global queue). For diagnostics (scripts/cpu-occupancy.ts). */
  waitingOn(cpu: number): number {
    return this.perCpuQueues ? this.cpuQueues[cpu]!.length : 0;
  }

  /** Whether `cpu` has no thread yet but one on its way to it (a wake-up or dispatch in flight). For diagnostics (scripts/cpu-occupancy.ts). */
  dispatching(cpu: number): boolean {
    return this.onCpu[cpu] === null && this.reserved[cpu]!;
  }

  /**
   * Other work on the machine (not simulated): a thread waking from a sleep
   * waits, with `probability`, an exponential time of mean `meanNs` before it
   * can run (src/workload/launch.ts sets it; null: never). Kernel daemons
   * (the grace-period worker) are left out: the probability is measured per
   * unmount call, whose wait already includes the worker's turns.
   */
  wakeWait: { probability: number; meanNs: number; draws: RandomStream } | null = null;

  /** The CPU of the thread whose body runs now (its wake-ups come from there), or -1 (an event's). Set by SimThread. */
  wakerCpu = -1;

  /**
   * Set by a waker whose wake-ups are known to stay on its CPU (the RCU
   * worker of a run settled fast, src/workload/kernelPath.ts): a wakee whose
   * previous CPU is the waker's waits there whatever waitOnPreviousShare says.
   */
  private waitOnPreviousNow = false;

  /** Wake `threads` as a waker whose wake-ups stay on its CPU (waitOnPreviousNow) when `stay`, else as usual. */
  wakeStaying(threads: readonly SimThread[], stay = true): void {
    if (stay) this.waitOnPreviousNow = true;
    for (const t of threads) t.wake();
    if (stay) this.waitOnPreviousNow = false;
  }

  /**
   * Told of every wake-up of a thread that has run before, on machines whose
   * wake-ups know their waker, before it is placed, with the state of the
   * CPU it last ran on ('waking': reserved for a thread woken onto it from
   * idle, still on its way, which a kernel trace shows as idle): for diagnostics that
   * compare where the model's wake-ups start from with a kernel trace's
   * (scripts/wake-census.ts). Null: nobody listens (the default).
   */
  wakeObserver: ((wakee: SimThread, prevCpu: number, wakerCpu: number, prevState: 'free' | 'waking' | 'busy') => void) | null = null;

  /**
   * Told of every wake-up sent from another CPU onto an idle `cpu` on a
   * machine whose host polls idle vCPUs (wakeAware.haltPoll): how long the
   * CPU had idled and whether the host had blocked it (the wake-up then
   * costs haltedNs). For diagnostics beside a kernel trace's
   * (scripts/wake-census.ts, scripts/idle-vcpu-wakes.py). Null: nobody listens.
   */
  remoteWakeObserver: ((cpu: number, idleNs: number, halted: boolean) => void) | null = null;

  /** Draws for `wakeAware`'s shares when one is strictly between 0 and 1 (Machine sets it; a stream of its own, so other draws do not move). */
  waitDraws: RandomStream | null = null;

  /** Makes `t` runnable; `delay` (ns before it runs on an idle CPU) replaces the wake-up latency, e.g. 0 for a new thread. */
  makeRunnable(t: SimThread, delay?: number): void {
    const prev = t.state;
    if (prev === ThreadState.Asleep && this.wakeWait && !t.daemon && this.wakeWait.draws.uniform() < this.wakeWait.probability) {
      // The wait is behind work that is not simulated, so the thread takes no
      // CPU and no place in the run queue meanwhile; then it wakes as usual.
      const wait = this.wakeWait.draws.exponential(this.wakeWait.meanNs);
      t.state = ThreadState.Runnable;
      this.sim.schedule(wait, { fire: () => this.place(t, delay) }, 0);
      return;
    }
    if (prev !== ThreadState.New) t.state = ThreadState.Runnable;
    this.place(t, delay);
  }

  private place(t: SimThread, delay: number | undefined): void {
    if (this.params.wakeAware && this.perCpuQueues && t.lastCpu >= 0) {
      this.placeWoken(t, this.params.wakeAware, delay);
      return;
    }
    delay ??= this.params.wakeupNs;
    // A woken thread's previous CPU when it is idle (select_idle_sibling's first choice).
    const prev = this.perCpuQueues && t.lastCpu >= 0 && this.isFree(t.lastCpu) && this.allowed(t, t.lastCpu) ? t.lastCpu : -1;
    const cpu = prev >= 0 ? prev : this.pickCpu(t);
    if (cpu >= 0) {
      this.reserve(cpu, t, delay);
    } else {
      this.enqueue(t);
    }
  }

  /**
   * Where a woken thread that has run before goes when wake-ups know their
   * waker, as the wakeup probe measures them (probes/wakeup.c):
   *  - its previous CPU if that is free;
   *  - if its waker runs there: it waits there (it runs when the waker
   *    sleeps) with probability waitOnPreviousShare, else it takes an idle
   *    CPU (select_idle_sibling());
   *  - if another thread runs there: with probability preemptShare it queues
   *    there and preempts that thread (wakeup_preempt_fair(): at once in user
   *    mode, at its return to user mode in the kernel, which is not
   *    preemptible here), else it takes an idle CPU, else it queues on its
   *    waker's CPU (it runs there when the waker sleeps);
   *  - otherwise, with no idle CPU, it queues on its previous CPU.
   * Onto the waker's CPU (an event wakes from the sleeper's CPU) it costs
   * wakeupNs; onto another CPU remoteNs. An explicit delay replaces both.
   */
  private placeWoken(t: SimThread, aware: WakeAware, delay: number | undefined): void {
    const prev = t.lastCpu;
    this.wakeObserver?.(t, prev, this.wakerCpu, this.isFree(prev) ? 'free' : this.wakingFromIdle[prev] ? 'waking' : 'busy');
    const waker = this.wakerCpu >= 0 ? this.wakerCpu : prev;
    const cost = (cpu: number) => delay ?? (cpu === waker ? this.params.wakeupNs : this.remoteWakeNs(cpu, aware));
    if (!this.allowed(t, prev)) {
      const cpu = this.pickCpu(t);
      if (cpu >= 0) {
        this.chargeSend(cpu, aware);
        this.reserve(cpu, t, cost(cpu));
      } else this.enqueue(t);
      return;
    }
    if (this.isFree(prev)) {
      this.chargeSend(prev, aware);
      this.reserve(prev, t, cost(prev));
      this.wakingFromIdle[prev] = true;
      return;
    }
    if (this.wakingFromIdle[prev] && prev !== waker) {
      // Its CPU is waking for another thread woken onto it a moment ago: the
      // kernel adds this one to the same wake list, which sends no second
      // IPI (__smp_call_single_queue IPIs only an empty list), and the CPU
      // activates both when it wakes (sched_ttwu_pending), preempting no one.
      // It runs there when the first sleeps or its slice ends.
      this.enqueue(t, prev);
      return;
    }
    const byWaker = prev === waker;
    const share = byWaker ? (this.waitOnPreviousNow ? 1 : aware.waitOnPreviousShare) : aware.preemptShare;
    const stays = share >= 1 || (share > 0 && this.waitDraws!.uniform() < share);
    const cpu = stays ? -1 : this.pickCpu(t);
    if (cpu >= 0) {
      this.chargeSend(cpu, aware);
      this.reserve(cpu, t, cost(cpu));
      return;
    }
    if (stays || byWaker || this.wakerCpu < 0 || !this.allowed(t, this.wakerCpu)) {
      this.enqueue(t, prev);
      if (stays && !byWaker) {
        this.chargeSend(prev, aware);
        this.preemptSoon(prev, cost(prev));
      }
      return;
    }
    // Not preempting the thread on its previous CPU, with no CPU idle: it
    // queues on its waker's CPU (the wakeup probe's wakees ran there when
    // the waker slept, rather than waiting for the other thread's slice).
    this.enqueue(t, this.wakerCpu);
  }

  /**
   * A wake-up sent from another CPU onto `cpu`: remoteNs, or on a machine
   * whose host polls idle vCPUs (aware.haltPoll) and `cpu` idle past its
   * window, haltedNs; the window then adapts as KVM's does (HaltPoll).
   * A busy or reserved `cpu` is no halt: remoteNs.
   */
  private remoteWakeNs(cpu: number, aware: WakeAware): number {
    const h = aware.haltPoll;
    if (h === undefined || this.onCpu[cpu] !== null || this.reserved[cpu]) return aware.remoteNs;
    const idleNs = this.sim.now - this.idleSince[cpu]!;
    const poll = this.pollNs[cpu]!;
    const halted = idleNs > poll;
    // The host times the halt until the vCPU runs again: a blocked one's includes the host's wake-up.
    const haltNs = halted ? idleNs + Math.max(0, h.haltedNs - aware.remoteNs) : idleNs;
    if (haltNs <= poll) {
      // Woken while polled: the window stays.
    } else if (poll > 0 && haltNs > h.maxNs) {
      const shrunk = h.shrink > 0 ? poll / h.shrink : 0;
      this.pollNs[cpu] = shrunk < h.growStartNs ? 0 : shrunk;
    } else if (poll < h.maxNs && haltNs < h.maxNs && h.grow > 0) {
      this.pollNs[cpu] = Math.min(h.maxNs, Math.max(h.growStartNs, poll * h.grow));
    }
    this.remoteWakeObserver?.(cpu, idleNs, halted);
    return halted ? h.haltedNs : aware.remoteNs;
  }

  /**
   * What a wake-up sent from another CPU onto `cpu` costs beyond remoteNs
   * because the host blocked its idle vCPU (wakeAware.haltPoll): haltedNs -
   * remoteNs, or 0 if it still polls, is busy or reserved, or the machine
   * has no halt polling. The window adapts as for any such wake-up. For a
   * wake-up whose fast cost is inside a measured length (the end of an
   * expedited grace period, src/workload/kernelPath.ts).
   */
  haltedExtraNs(cpu: number): number {
    const aware = this.params.wakeAware;
    if (aware?.haltPoll === undefined || cpu < 0) return 0;
    // Never negative: a hand-written model may give a blocked wake-up no dearer than a polled one.
    return Math.max(0, this.remoteWakeNs(cpu, aware) - aware.remoteNs);
  }

  /** The waker, when a thread on a CPU, pays the IPI's send for a wake-up onto `cpu`, another CPU than its own. */
  private chargeSend(cpu: number, aware: WakeAware): void {
    if (this.wakerCpu >= 0 && cpu !== this.wakerCpu && aware.ipiSendNs) this.onCpu[this.wakerCpu]?.owe(aware.ipiSendNs);
  }

  /**
   * The thread on `cpu` is asked to give it up to a woken thread queued
   * there: after `delay` (the IPI), as a time slice's end would.
   */
  private preemptSoon(cpu: number, delay: number): void {
    this.ipiDue[cpu] = true;
    this.sim.schedule(delay, this, SLICE + 2 * (cpu + this.cpuCount * (this.sliceEpoch[cpu] & EPOCH_MASK)));
  }

  /** `cpu` has no thread any more: give it to the next runnable thread. */
  release(cpu: number): void {
    const t = this.onCpu[cpu];
    if (t && this.fair) {
      // update_entity_lag at the dequeue: the average with it still there, less what it received, within a slice and a tick.
      const v = this.avgV(cpu);
      this.vacate(cpu);
      const limit = this.params.quantumNs + LAG_TICK_NS;
      t.vlag = Math.max(-limit, Math.min(limit, v - t.vruntime));
      t.sleepV = v;
      t.sleepCpu = cpu;
      t.onRq = false;
    } else this.vacate(cpu);
    this.sliceArmed[cpu] = false;
    this.sliceEpoch[cpu]++;
    this.ipiDue[cpu] = false;
    const next = this.dequeueFor(cpu);
    if (next) this.reserve(cpu, next, this.params.contextSwitchNs);
  }

  yieldCpu(t: SimThread): void {
    const next = this.dequeueFor(t.cpu);
    if (!next) return;
    const cpu = t.cpu;
    t.preempted();
    this.vacate(cpu);
    t.vdeadline = t.vruntime + this.params.quantumNs;
    this.enqueue(t, cpu);
    this.reserve(cpu, next, this.params.contextSwitchNs);
  }

  threadDone(_t: SimThread): void {
    this.live--;
    if (this.live === 0 && this.onAllDone) this.onAllDone();
  }

  // Event argument: kind + 2 * (cpu + cpus * (epoch & EPOCH_MASK)); the epoch only matters for slice timers.
  fire(arg: number): void {
    const kind = arg % 2;
    const rest = (arg - kind) / 2;
    const cpu = rest % this.cpuCount;
    const epoch = (rest - cpu) / this.cpuCount;
    if (kind === DISPATCH) {
      const t = this.pendingDispatch[cpu]!;
      this.pendingDispatch[cpu] = null;
      this.reserved[cpu] = false;
      this.wakingFromIdle[cpu] = false;
      this.occupy(cpu, t);
      if (this.queueLength() > 0) this.armSlice(cpu);
      // Nothing of this event follows the thread's step (Simulator.tail).
      this.sim.tail = t;
      t.dispatched(cpu);
    } else {
      if (epoch !== (this.sliceEpoch[cpu] & EPOCH_MASK)) return;
      this.sliceArmed[cpu] = false;
      const byIpi = this.ipiDue[cpu];
      const ipi = byIpi ? (this.params.wakeAware?.ipiNs ?? 0) : 0;
      this.ipiDue[cpu] = false;
      const cur = this.onCpu[cpu];
      if (!cur) return;
      if (cur.holdsCpu) {
        // Spending its last time before a sleep (an IPI's send): it lets the CPU go then.
        cur.interrupted(ipi);
        return;
      }
      if (cur.kernelDepth > 0) {
        // Not preemptible now: it yields when it returns to user mode.
        cur.interrupted(ipi);
        cur.requestResched();
        return;
      }
      // A slice's end is update_deadline's: the thread's next request gets a new deadline.
      if (!byIpi) cur.vdeadline = cur.vruntime + (this.sim.now - cur.ranFrom) + this.params.quantumNs;
      const next = this.dequeueFor(cpu);
      if (!next) {
        cur.interrupted(ipi);
        return;
      }
      cur.preempted();
      this.vacate(cpu);
      this.enqueue(cur, cpu);
      this.reserve(cpu, next, this.params.contextSwitchNs + ipi);
    }
  }

  private armSlice(cpu: number): void {
    if (this.sliceArmed[cpu]) return;
    this.sliceArmed[cpu] = true;
    this.sim.schedule(this.params.quantumNs, this, SLICE + 2 * (cpu + this.cpuCount * (this.sliceEpoch[cpu] & EPOCH_MASK)));
  }

  private reserve(cpu: number, t: SimThread, delay: number): void {
    if (!t.onRq && this.fair) this.placeFair(t, cpu);
    if (this.spaceSwitch && !t.daemon) delay += this.switchSpace(cpu, t.addressSpace, this.spaceSwitch);
    this.reserved[cpu] = true;
    this.pendingDispatch[cpu] = t;
    // A new thread on this CPU: any slice timer armed for the old one is void.
    this.sliceEpoch[cpu]++;
    this.ipiDue[cpu] = false;
    this.sliceArmed[cpu] = false;
    this.sim.schedule(delay, this, DISPATCH + 2 * cpu);
  }

  /** The cost of loading `space` on `cpu` (AddressSpaceSwitch), which it now holds. */
  private switchSpace(cpu: number, space: number, cost: AddressSpaceSwitch): number {
    const now = this.spaceNow[cpu]!;
    if (space === now) return 0;
    const ns = space === this.spaceBefore[cpu] ? cost.recentNs : cost.otherNs;
    this.spaceBefore[cpu] = now;
    this.spaceNow[cpu] = space;
    return ns;
  }

  private isFree(cpu: number): boolean {
    return this.onCpu[cpu] === null && !this.reserved[cpu];
  }

  private allowed(t: SimThread, cpu: number): boolean {
    return t.affinity.length === 0 || t.affinity.includes(cpu);
  }

  private pickCpu(t: SimThread): number {
    const pool = t.affinity.length > 0 ? t.affinity : null;
    const n = pool ? pool.length : this.cpuCount;
    const placement = this.params.placement;
    if (placement === 'scatter') {
      const candidates: number[] = [];
      for (let i = 0; i < n; i++) {
        const c = pool ? pool[i] : i;
        if (this.isFree(c)) candidates.push(c);
      }
      return candidates.length === 0 ? -1 : candidates[this.rng.int(candidates.length)];
    }
    // compact: the first free CPU. spread: the first free CPU whose siblings
    // are all idle (a whole free core, like the kernel's select_idle_core),
    // else the first free CPU. One pass, no candidate list.
    let first = -1;
    for (let i = 0; i < n; i++) {
      const c = pool ? pool[i] : i;
      if (!this.isFree(c)) continue;
      if (placement === 'compact') return c;
      if (first < 0) first = c;
      if (this.wholeCoreFree(c)) return c;
    }
    return first;
  }

  private wholeCoreFree(cpu: number): boolean {
    const sib = this.params.siblings[cpu];
    for (let i = 0; i < sib.length; i++) if (!this.isFree(sib[i])) return false;
    return true;
  }

  /**
   * Queue `t` (per-CPU queues: on `onCpu`, else its previous CPU, else its
   * waker's). On wake-aware machines a thread that was asleep is placed by
   * its lag first (placeFair), and a freed CPU takes its queue's threads in
   * EEVDF order (pickEevdf); elsewhere in arrival order. Measured on the
   * 2-vCPU guest (ftrace of 2- and 32-container storms, 2026-11-30): the RCU
   * worker, which sleeps almost always, ran before every thread queued
   * there on 115 of 116 wake-ups; storm threads on 274 of 491, the others
   * behind threads queued earlier. In the sixth session's 32-container
   * storm (perf) the worker ran a median 2 us after its wake-up. Whether a
   * wakee preempts the thread running there is placeWoken's (the wakeup
   * probe's).
   */
  private enqueue(t: SimThread, onCpu = -1): void {
    if (this.perCpuQueues) {
      let c = onCpu >= 0 ? onCpu : t.lastCpu >= 0 && this.allowed(t, t.lastCpu) ? t.lastCpu : -1;
      // Never ran: the CPU of whoever woke it. A burst is released by one
      // thread (the runtime's, the probe's), so its threads queue together,
      // on the first CPU they may use, and wait there for that CPU or the
      // balance (measured: docs/validation.md, "Per-CPU run queues").
      if (c < 0) c = t.affinity.length > 0 ? t.affinity[0]! : 0;
      if (!t.onRq && this.fair) this.placeFair(t, c);
      this.cpuQueues[c].push(t);
      this.waitingOnCpus++;
      if (this.onCpu[c] !== null) this.armSlice(c);
      this.armBalance();
      return;
    }
    this.runQueue.push(t);
    // Someone waits: every busy CPU that could run it gets a slice timer.
    for (let c = 0; c < this.cpuCount; c++) {
      if (this.onCpu[c] !== null && this.allowed(t, c)) this.armSlice(c);
    }
  }

  private queueLength(): number {
    return this.perCpuQueues ? this.waitingOnCpus : this.runQueue.length - this.queueHead;
  }

  /**
   * The periodic load balance (per-CPU queues): at the next multiple of the
   * interval, every idle CPU evens out with the busiest CPU it may take
   * threads from: half the difference of their runnable counts moves
   * (calculate_imbalance's migrate_task between single-CPU groups,
   * (busiest - local) / 2, at most sysctl_sched_nr_migrate = 32 a pass;
   * kernel/sched/fair.c), the oldest waiting first. The first runs; the rest
   * queue on the idle CPU.
   */
  private armBalance(): void {
    if (this.balanceArmed || !this.perCpuQueues) return;
    this.balanceArmed = true;
    const every = this.perCpuQueues.balanceIntervalNs;
    const at = (Math.floor(this.sim.now / every) + 1) * every;
    this.sim.schedule(at - this.sim.now, this.balancer, 0);
  }

  private balance(): void {
    this.balanceArmed = false;
    for (let c = 0; c < this.cpuCount; c++) {
      if (!this.isFree(c)) continue;
      let from = -1;
      for (let q = 0; q < this.cpuCount; q++) {
        const qu = this.cpuQueues[q];
        if (q === c || qu.length === 0 || !this.allowed(qu[0], c)) continue;
        if (from < 0 || qu.length > this.cpuQueues[from].length) from = q;
      }
      if (from < 0) continue;
      const src = this.cpuQueues[from];
      // Runnable on the busiest CPU: its waiting threads and the one it runs.
      const runnable = src.length + (this.onCpu[from] !== null || this.reserved[from] ? 1 : 0);
      let move = Math.min(32, Math.max(1, Math.floor(runnable / 2)));
      for (let i = 0; i < src.length && move > 0; ) {
        const t = src[i]!;
        if (!this.allowed(t, c)) { i++; continue; }
        if (this.fair) {
          // Migration keeps its lag: relative to the new queue's average (migrate_task_rq_fair).
          const lag = this.avgV(from) - t.vruntime;
          src.splice(i, 1);
          const shift = this.avgV(c) - lag - t.vruntime;
          t.vruntime += shift;
          t.vdeadline += shift;
        } else src.splice(i, 1);
        move--;
        if (this.isFree(c)) {
          this.waitingOnCpus--;
          this.reserve(c, t, this.params.contextSwitchNs);
        } else this.cpuQueues[c].push(t);
      }
    }
    if (this.waitingOnCpus > 0) this.armBalance();
  }

  private dequeueFor(cpu: number): SimThread | null {
    if (this.perCpuQueues) {
      const qu = this.cpuQueues[cpu];
      if (qu.length === 0) return null;
      this.waitingOnCpus--;
      if (!this.fair) return qu.shift()!;
      return qu.splice(this.pickEevdf(cpu), 1)[0]!;
    }
    for (let i = this.queueHead; i < this.runQueue.length; i++) {
      const t = this.runQueue[i];
      if (this.allowed(t, cpu)) {
        if (i === this.queueHead) {
          this.queueHead++;
          if (this.queueHead > 1024 && this.queueHead * 2 > this.runQueue.length) {
            this.runQueue.splice(0, this.queueHead);
            this.queueHead = 0;
          }
        } else {
          this.runQueue.splice(i, 1);
        }
        return t;
      }
    }
    return null;
  }

  /**
   * EEVDF ordering of each CPU's run queue (kernel/sched/fair.c), on
   * wake-aware machines, whose scheduler is the measured one: at equal
   * weights a thread's vruntime is the CPU time it received, and the queue's
   * average is the time every thread there would have had in a fair share.
   * A sleeper keeps its lag (average less its vruntime) and is placed that
   * far before the average when it wakes (place_entity); a negative lag is
   * paid off while the others run (DELAY_DEQUEUE). A freed CPU runs the
   * eligible thread (vruntime at most the average) with the earliest
   * deadline (pick_eevdf). So a thread that waited while others ran catches
   * up: a CPU-bound thread among threads that sleep and wake all the time
   * (the runtime forking one process per container in a storm) gets its
   * share instead of waiting behind every wake-up.
   */
  private get fair(): boolean {
    return this.perCpuQueues !== null && this.params.wakeAware !== undefined;
  }

  /** Average vruntime of the threads on `cpu`'s queue: queued, in dispatch and running (with its run so far). */
  private avgV(cpu: number): number {
    let sum = 0;
    let n = 0;
    const q = this.cpuQueues[cpu];
    for (let i = 0; i < q.length; i++) sum += q[i]!.vruntime;
    n += q.length;
    const cur = this.onCpu[cpu];
    if (cur !== null) {
      sum += cur.vruntime + (this.sim.now - cur.ranFrom);
      n++;
    }
    const pending = this.pendingDispatch[cpu];
    if (pending !== null) {
      sum += pending.vruntime;
      n++;
    }
    if (n > 0) this.cpuV[cpu] = sum / n;
    return this.cpuV[cpu];
  }

  /** Threads on `cpu`'s queue: queued, in dispatch and running. */
  private onQueue(cpu: number): number {
    return this.cpuQueues[cpu].length + (this.onCpu[cpu] !== null ? 1 : 0) + (this.pendingDispatch[cpu] !== null ? 1 : 0);
  }

  /**
   * The lag a sleeper comes back with. A negative one (it had run more than
   * its share) kept it on its queue, not eligible (DELAY_DEQUEUE), while the
   * average moved on: it is paid off by that much, and once paid off it is
   * placed afresh with none (DELAY_ZERO).
   */
  private lagOnWake(t: SimThread): number {
    const lag = t.vlag;
    return lag < 0 && t.sleepCpu >= 0 ? Math.min(0, lag + (this.avgV(t.sleepCpu) - t.sleepV)) : lag;
  }

  /**
   * A thread that was asleep (or is new) joins `cpu`'s queue (place_entity
   * with PLACE_LAG): its lag is kept only among others, scaled so that the
   * average moves by it after the join ((n + 1) / n); a new thread's first
   * deadline is half a slice away (PLACE_DEADLINE_INITIAL).
   */
  private placeFair(t: SimThread, cpu: number): void {
    const n = this.onQueue(cpu);
    const v = this.avgV(cpu);
    t.vruntime = n > 0 ? v - (this.lagOnWake(t) * (n + 1)) / n : v;
    t.vdeadline = t.vruntime + (t.state === ThreadState.New ? this.params.quantumNs / 2 : this.params.quantumNs);
    t.onRq = true;
  }

  /** Index in `cpu`'s queue of the eligible thread with the earliest deadline (or the earliest deadline, if none is eligible). */
  private pickEevdf(cpu: number): number {
    const q = this.cpuQueues[cpu];
    const v = this.avgV(cpu);
    let best = -1;
    let any = 0;
    for (let i = 0; i < q.length; i++) {
      const t = q[i]!;
      if (t.vdeadline < q[any]!.vdeadline) any = i;
      if (t.vruntime <= v && (best < 0 || t.vdeadline < q[best]!.vdeadline)) best = i;
    }
    return best >= 0 ? best : any;
  }
}
