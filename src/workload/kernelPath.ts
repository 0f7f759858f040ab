/**
 * Executes a kernel model's syscalls on simulated threads: each step of a
 * syscall becomes lock traffic on the machine's fabric or CPU work, and every
 * moment is labelled with a folded stack (containerd;move_mount;namespace_sem;
 * mount_lock;attachCsNs) so the same run yields the breakdown of where time
 * went and a flame graph.
 *
 * The global state of the mount path lives here: `namespace_sem` (an
 * rw-semaphore), `mount_lock` (a seqlock whose readers are every path walk on
 * the machine), the expedited RCU grace period, and the length of the host's
 * mount table.
 */
import { CallMachine, DONE, WAIT, type Call, type SimThread } from '../cpu/thread.ts';
import type { Machine } from '../machine.ts';
import type { CacheLine } from '../hardware/coherence.ts';
import { RwSemaphore } from '../locks/rwsem.ts';
import { SeqLock } from '../locks/seqlock.ts';
import type { Steps } from '../locks/spinlock.ts';
import { perMountWalkNs, type KernelModel, type KernelStep } from './kernelModel.ts';
import type { RandomStream } from '../engine/random.ts';
import type { ActivityKind, ActivityPhase } from '../cpu/activity.ts';

export const enum StepKind {
  RwRead,
  RwWrite,
  RwUpRead,
  RwUpWrite,
  SeqWrite,
  SeqUnlock,
  /** CPU work of `value` ns per member of the layers' parent peer group (one hold for the whole ring walk). */
  PerPeer,
  JoinPeerGroup,
  LeavePeerGroup,
  Cpu,
  CpuPerMount,
  Rcu,
  PathLookup,
  /** An atomic write of one kernel line every CPU's mount ops write (`line`). */
  SharedWrite,
  /** Start of a forEachMount body; `value` is the index of its LoopEnd. */
  LoopBegin,
  /** End of a forEachMount body; `value` is the index of its LoopBegin. */
  LoopEnd,
}

function isCpuStep(k: StepKind): boolean {
  return k === StepKind.Cpu || k === StepKind.CpuPerMount;
}

/**
 * A forEachMount body runs at most this many times; each pass stands for
 * mounts/passes mounts. Copying a namespace of 5,000 mounts one by one would
 * be 10,000 mount_lock acquisitions per container start, ten times the rest
 * of a launch; in chunks, each pass's CPU steps take `factor` times as long
 * and each mount_lock write section, taken once, is charged `factor - 1`
 * more line pulls while holding (twice what its own sequence write took:
 * taking the lock and writing the sequence after readers re-read it).
 * Path walks then see one long write section where the kernel has many short
 * ones with gaps between: the sequence is odd for the same total time.
 */
export const MOUNT_LOOP_PASSES = 16;

/** A syscall flattened for one layer count: steps with their ns and activity label. */
export interface FlatStep {
  kind: StepKind;
  /** ns for Cpu; count for PathLookup. */
  value: number;
  /** Activity label while the step runs. */
  activity: number;
  /** Activity label once the step is done (what the thread is inside of). */
  after: number;
  /** Path lookups: the label of the walk itself (`activity` is the spin in path_init). */
  walk: number;
  /** Lock steps: the lock of the kernel model the step names. */
  rw?: RwSemaphore;
  seq?: SeqLock;
  /** SharedWrite: the line. */
  line?: CacheLine;
}

/** How the launch sets up propagation (scenario host settings; see launchParams.ts). */
export interface PropagationSetup {
  /** The mount the layers' directories live on is shared (systemd makes / rshared at boot): clones of them join its peer group. */
  layerParentShared: boolean;
  /** The runtime's mount_setattr sets a propagation type (MS_PRIVATE, containerd >= 2.3): the `setsPropagation` branch of the kernel model. */
  setsPropagation: boolean;
  /** Factor on every per-peer cost (1: this host's measured values; a range in docs/model.md). */
  ringStepCostFactor: number;
  /**
   * Mount namespaces that are slaves of the host's (systemd services with
   * ProtectSystem=/PrivateTmp=). Each holds a slave copy of every attached
   * member of the group, and propagate_mnt/propagate_umount visit every slave
   * group of the destination's propagation tree (next_group/propagation_next
   * in fs/pnode.c): a writer's ring walk visits peers + slaveNamespaces x
   * attached members.
   */
  slaveNamespaces: number;
}

export const NO_PROPAGATION: PropagationSetup = { layerParentShared: false, setsPropagation: false, ringStepCostFactor: 1, slaveNamespaces: 0 };

/**
 * synchronize_rcu_expedited(): callers sleep until a grace period that started
 * after their call has ended. Concurrent callers share grace periods, as the
 * kernel's expedited sequence counter lets them: those arriving while one runs
 * wait for the next, which then serves them all.
 *
 * Who drives the grace period. Without a worker (the kernel model's
 * `rcuExpeditedWorker` absent or `realtime`) it is a timer, and the next one
 * starts the instant one ends. With `normal` the kernel's own sequence is
 * followed (kernel/rcu/tree_exp.h, synchronize_rcu_expedited), and every step
 * of it needs a CPU:
 *  - the caller that finds exp_mutex free takes it (exp_funnel_lock), starts
 *    the grace period, queues the work on the worker and sleeps; callers
 *    after it wait for the next grace period, the first of them on the mutex;
 *  - the worker is a kernel thread of normal priority, as
 *    rcu_exp_gp_kthread_worker is unless CONFIG_RCU_EXP_KTHREAD (which needs
 *    CONFIG_RCU_BOOST) makes it SCHED_FIFO (kernel/rcu/tree.c,
 *    rcu_start_exp_gp_kworker; before 5.19 a workqueue item, also normal
 *    priority). It must get a CPU to IPI the busy CPUs
 *    (sync_rcu_exp_select_cpus), sleeps until they report
 *    (synchronize_rcu_expedited_wait), and must get a CPU again to end the
 *    grace period and wake its callers (rcu_exp_wait_wake);
 *  - the mutex's owner, once it runs again, releases exp_mutex to the first
 *    caller waiting on it, which must run to start the next grace period.
 * On a machine whose CPUs are all taken by launches each of those turns waits
 * in the run queue behind them, so a grace period lengthens with the load,
 * which a timer cannot show.
 */
export class ExpeditedRcu {
  private running = false;
  private current: SimThread[] = [];
  private next: SimThread[] = [];
  gracePeriods = 0;
  private readonly ender = { fire: () => this.end() };
  /** Worker mode: the grace-period worker thread, made at the first grace period. */
  private worker: SimThread | null = null;
  /** Worker mode: exp_mutex is held (by the caller that started the grace period in progress, until it runs after its end). */
  private mutexHeld = false;
  /** Worker mode: the caller the mutex was handed to, which starts the next grace period when it runs. */
  private handedTo: SimThread | null = null;

  /**
   * A grace period takes `baseNs` plus `perBusyCpuNs` for every other CPU
   * running a thread when it starts: idle CPUs are in dyntick-idle and need no IPI
   * (on this 2-vCPU host an unmount's wait is ~9 us with the other CPU idle,
   * ~50 us with it busy: docs/validation.md).
   */
  private fastDraws: RandomStream | null = null;
  /** Lone grace periods so far, and the mode this run settled in (drawn once, after the warm-up). */
  private loneGps = 0;
  private settledFast: boolean | null = null;
  /** The grace period in progress is a lone one of a run settled fast (its callers stay on the worker's CPU). */
  private loneFast = false;
  /** The grace period in progress is a lone one, its callers kept on the worker's CPU (see lengthNs). */
  private loneLocal = false;
  /** Other CPUs busy when the grace period in progress started (lengthNs): their reports come by interrupt. */
  private busyAtStart = 0;
  /** The machine's host polls idle vCPUs (hardware `wakeup.haltPoll`): a wake-up onto the other, idle vCPU may find it blocked. */
  private get halts(): boolean {
    return this.wakeAware && this.m.scheduler.params.wakeAware!.haltPoll !== undefined;
  }
  /** Lone grace periods after the warm-up: the ones the settled mode decided. */
  idleModeUses = 0;
  /** The machine knows wake-ups by where they land (hardware `wakeup`; worker mode only): see lengthNs. */
  private get wakeAware(): boolean {
    return this.normalPriorityWorker && this.m.scheduler.params.wakeAware !== undefined;
  }

  constructor(
    private readonly m: Machine,
    readonly baseNs: number,
    readonly perBusyCpuNs: number,
    /**
     * The fast path when no other CPU is busy (mechanisms.rcuExpeditedIdleFast*
     * and rcuExpeditedIdleWarmupGps). On this 2-vCPU guest a lone unmount's
     * wait is ~7 or ~35 us, and which is a state of the run
     * (docs/validation.md): every run's first `warmup` lone grace periods are
     * slow (baseNs), then the run settles, with probability `share`, in the
     * fast path (`ns`) for good, else in the slow one. Null: one length.
     * When the machine knows wake-ups by where they land (hardware `wakeup`)
     * and the worker is a thread, the modes are also where the worker runs:
     * it starts on another CPU than its caller, and a run settled fast moves
     * it to the caller's (docs/model.md, section 6).
     */
    readonly idleFast: { ns: number; share: number; warmup: number } | null = null,
    /** The grace period runs in a normal-priority kernel thread, behind exp_mutex (see the class comment). */
    readonly normalPriorityWorker = false,
    /** Preemptible RCU (mechanisms.rcuPreemptible): see awaitReports. */
    readonly preemptible = false,
  ) {}

  /** The caller's whole wait: `yield rcu.synchronize(t)`. */
  *synchronize(t: SimThread): Steps {
    if (!this.normalPriorityWorker) {
      if (!this.running) {
        this.current.push(t);
        this.start();
      } else this.next.push(t);
      t.sleep();
      yield;
      return;
    }
    if (this.mutexHeld) {
      // A grace period is in progress: this caller needs the next one. The
      // first to come waits on exp_mutex, the others for that grace period.
      this.next.push(t);
      t.sleep();
      yield;
      if (this.handedTo !== t) return; // its grace period ended
      this.handedTo = null;
    } else {
      this.mutexHeld = true;
      this.next.push(t);
    }
    // t holds exp_mutex: a grace period for everyone waiting so far.
    this.current = this.next;
    this.next = [];
    this.gracePeriods++;
    t.sleep();
    // The worker's wake-up onto a free CPU is inside the grace period's
    // measured length (baseNs), so it adds no delay of its own; with no CPU
    // free it queues.
    this.wakeWorker();
    yield;
    // Woken by the worker at the end, back on a CPU: mutex_unlock(exp_mutex),
    // to the first caller waiting on it.
    if (this.next.length > 0) {
      this.handedTo = this.next[0]!;
      this.handedTo.wake();
    } else this.mutexHeld = false;
  }

  /** The grace period's length, from the CPUs busy now (other than `self`'s). */
  private lengthNs(self: SimThread | null): number {
    // CPUs running a thread, other than the one that asks: the kernel IPIs
    // the others and does not wait on its own CPU.
    let busy = 0;
    for (let c = 0; c < this.m.cpus; c++) {
      const on = this.m.scheduler.threadOn(c);
      if (on !== null && on !== self) busy++;
    }
    if (self === null && busy > 0) busy--;
    this.busyAtStart = busy;
    let ns = this.baseNs + busy * this.perBusyCpuNs;
    // The IPIs land on the busy CPUs and take their threads' time
    // (rcu_exp_handler, and on a virtual machine the exits around it:
    // measured by the wakeup probe's `interrupts`).
    const ipiNs = this.m.scheduler.params.wakeAware?.rcuExpeditedIpiNs ?? 0;
    if (ipiNs > 0 && busy > 0) {
      const caller = self === null ? this.current[0] : undefined;
      for (let c = 0; c < this.m.cpus; c++) {
        const on = this.m.scheduler.threadOn(c);
        if (on !== null && on !== self && on !== caller) on.interrupted(ipiNs);
      }
    }
    this.loneFast = false;
    // With the host's halt polling modelled, a lone grace period of a run
    // not settled slow keeps its callers on the worker's CPU from the first:
    // the other vCPU has idled since the storm began and the host blocked
    // it, which a wake-up there would pay (70-80 us), while the kernel's lone
    // unmounts take 6-24 us (docs/model.md, section 6).
    this.loneLocal = this.halts && busy === 0 && this.settledFast !== false;
    if (busy === 0 && this.idleFast) {
      if (this.loneGps++ >= this.idleFast.warmup) {
        this.idleModeUses++;
        // Its own stream, one draw per run: drawing here changes no other mechanism's draws.
        const caller = this.current[0];
        let settlesNow = false;
        if (this.settledFast === null) {
          this.fastDraws ??= this.m.random.stream('rcu-expedited-idle-fast-path');
          this.settledFast = this.fastDraws.uniform() < this.idleFast.share;
          settlesNow = true;
          // With wake-ups that know their waker, the fast mode is the worker
          // on its caller's CPU (every hand-off local), the slow one the
          // worker on another CPU (two wake-ups across CPUs per grace
          // period): the worker joins the caller's CPU for its next wake-up.
          if (this.settledFast && this.wakeAware && self !== null && caller) self.lastCpu = caller.lastCpu;
        }
        // The fast mode is the worker sharing its caller's CPU: a lone run
        // settled fast keeps it there, but in a storm the other containers'
        // callers wake it too, and a grace period whose worker runs on
        // another CPU than its caller's is a slow one even when that CPU is
        // idle (measured: at K=2 about one unmount in ten waits the fast
        // ~7 us, against nine in ten of the lone runs; docs/validation.md,
        // Sixth session).
        const together = !this.wakeAware || self === null || caller === undefined || settlesNow || self.lastCpu === caller.lastCpu;
        if (this.settledFast && together) ns = this.idleFast.ns;
        this.loneFast = this.settledFast && together;
      }
    }
    return ns;
  }

  private start(): void {
    this.running = true;
    this.gracePeriods++;
    this.m.sim.schedule(this.lengthNs(null), this.ender, 0);
  }

  private end(): void {
    const done = this.current;
    this.current = this.next;
    this.next = [];
    this.running = false;
    if (this.current.length > 0) this.start();
    for (const t of done) t.wake();
  }

  /**
   * The worker's wait for the CPUs' reports: the grace period's length, and
   * on a kernel that cannot be preempted (linux-6.6's model: rcu_exp_handler
   * of !CONFIG_PREEMPT_RCU, kernel/rcu/tree_exp.h) also every other busy CPU
   * whose thread the IPI found in kernel mode: the handler can only set
   * need_resched there (rcu_exp_need_qs), and the CPU reports when its thread
   * next leaves it or returns to user mode. A spinner on a rw-semaphore gives
   * up at once on need_resched; a long walk or a 100-layer overlay mount runs
   * to its end first. Idle CPUs and threads in user mode report at the IPI
   * (the `ns` the wakeup probe measured). With preemptible RCU
   * (`preemptible`: the CONFIG_PREEMPT_RCU rcu_exp_handler) a CPU in kernel
   * mode reports at the IPI too unless preemption is off there: only a
   * thread spinning on or holding a spinlock, or spinning on a rw-semaphore
   * (`atomicDepth`), is waited for, the same way.
   */
  private awaitReports(w: SimThread, ns: number): void {
    let pending = 1;
    // A grace period of no length (the rcu-expedited ablation) waits for nothing.
    const none = this.baseNs === 0 && this.perBusyCpuNs === 0;
    // With another CPU busy, the last report comes from its interrupt
    // handler and wakes the worker onto its own CPU, idle since the worker
    // slept: where the host blocks idle vCPUs (hardware wakeup.haltPoll) it
    // may have blocked it meanwhile. The fast wake-up is inside the measured
    // length; only the blocked one's extra is added.
    const fromOtherCpu = this.busyAtStart > 0;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      w.wake(fromOtherCpu ? this.m.scheduler.haltedExtraNs(w.lastCpu) : 0);
    };
    const report = {
      fire: () => report.interrupt(),
      interrupt: () => {
        if (--pending === 0) end();
      },
    };
    for (let c = 0; c < this.m.cpus && !none; c++) {
      if (c === w.cpu) continue;
      const on = this.m.scheduler.threadOn(c);
      if (on === null || on.kernelDepth === 0 || (this.preemptible && on.atomicDepth === 0)) continue;
      pending++;
      on.watchQuiescent(report);
      on.requestResched();
    }
    this.m.sim.schedule(ns, report, 0);
    if (this.wakeAware && !none) this.reportWhenIdle(ns, end);
  }

  /**
   * On a machine whose wake-ups are measured (hardware `wakeup`): a CPU busy
   * when the grace period started whose thread then leaves it idle has the
   * IPI handled in its idle loop, which reports at once
   * (rcu_exp_handler: rcu_is_cpu_rrupt_from_idle). The grace period's length
   * (`ns`, from the umount beside a CPU that stays busy) assumes the IPI
   * lands on a running vCPU; when every such CPU went idle first, it ends
   * `remoteNs` (the IPI into an idle vCPU) after the last of them did, and no
   * sooner than the base. In the storms' kernel traces (K=2, 25 layers) the
   * other thread sleeps 2 us after the IPI is sent, the handler runs 6 us
   * later in the idle task, and the worker wakes its callers 27 us after
   * its IPI, not the 55-65 us of a grace period beside a busy CPU
   * (docs/validation.md, Eighteenth session).
   */
  private reportWhenIdle(ns: number, end: () => void): void {
    const sched = this.m.scheduler;
    const start = this.m.sim.now;
    const deliverNs = sched.params.wakeAware!.remoteNs;
    let busy = 0;
    let last = start + Math.min(ns, this.baseNs);
    let gaveUp = false;
    const early = { fire: () => end() };
    for (let c = 0; c < this.m.cpus; c++) {
      const on = sched.threadOn(c);
      if (on === null || on === this.worker) continue;
      busy++;
      const cpu = c;
      const watcher = {
        interrupt: () => {
          if (gaveUp) return;
          // Another thread took the CPU: the IPI lands on it running, as the length assumes.
          if (sched.threadOn(cpu) !== null || sched.dispatching(cpu)) {
            gaveUp = true;
            return;
          }
          last = Math.max(last, this.m.sim.now + deliverNs);
          if (--busy === 0 && last < start + ns) this.m.sim.schedule(last - this.m.sim.now, early, 0);
        },
      };
      on.watchLeaveCpu(watcher);
    }
  }

  private wakeWorker(): void {
    if (this.worker === null) {
      const self = this;
      const label = this.m.activities.id('rcu_exp_gp_kthread_worker;synchronize_rcu_expedited');
      const idle = this.m.activities.id('rcu_exp_gp_kthread_worker;idle');
      this.worker = this.m.spawnDaemon('rcu_exp_gp_kthread_worker', function* (w) {
        for (;;) {
          // On a CPU: IPI the busy CPUs, then sleep until they report (its
          // wake-up back is inside the length, so no delay of its own).
          w.doing(label);
          const ns = self.lengthNs(w);
          w.sleep();
          self.awaitReports(w, ns);
          yield;
          // On a CPU again: end the grace period and wake its callers.
          const done = self.current;
          self.current = [];
          // A run settled fast is one whose caller and worker share a CPU
          // (the measured share of fast runs, not the wakeup probe's
          // placement, which measures futex wake-ups): its callers wait for
          // the worker's CPU rather than take another.
          self.m.scheduler.wakeStaying(done, self.wakeAware && (self.loneFast || self.loneLocal));
          w.doing(idle);
          w.sleep();
          yield;
        }
      });
    }
    if (this.wakeAware && !this.halts && this.worker.lastCpu < 0 && this.idleFast) {
      // A run starts slow (the measured warm-up): the worker last ran on another CPU than its first caller.
      const caller = this.current[0]?.lastCpu ?? 0;
      this.worker.lastCpu = (caller + 1) % this.m.cpus;
    }
    // The caller's wake-up of the worker: inside the fitted base (0), unless
    // the machine knows wake-ups by where they land (hardware `wakeup`): then
    // it costs what any wake-up does, which on a guest whose other vCPU idles
    // is the IPI and the vCPU's wake (docs/model.md, section 6).
    if (this.halts) {
      // Where the host blocks idle vCPUs the worker is woken onto its
      // caller's CPU, which the caller leaves at once (it sleeps right after
      // queueing the work): in the storms' kernel traces (K=2, 1 and 25
      // layers) 8-10 and 56-59 of a run's wake-ups of rcu_exp_gp_kthread_worker
      // by a storm thread landed on the waker's CPU, 1-2 and 5-24 on the
      // other (docs/validation.md, Eighteenth session). The futex probe's
      // placement shares (waitOnPreviousShare) describe other wake-ups. So
      // from the first grace period too: not the warm-up's worker on the
      // other CPU, whose wake-up there would cost the blocked one (70-80 us)
      // where the kernel's first lone unmount takes ~20 us; the warm-up is
      // the slow length alone. Not modelled: the kernel's wake_affine_idle()
      // takes the worker's previous CPU when that one is idle, which a
      // forked container meets on its first unmounts (it starts on the
      // parent's CPU, the worker last ran on the other); placed so at every
      // wake-up, or only then, the held-out storms got worse: the model's
      // other vCPU has idled into the host's block where the kernel's had
      // idled a few us (docs/validation.md, Twenty-fifth session).
      const caller = this.current[0];
      if (caller !== undefined && caller.lastCpu >= 0) this.worker.lastCpu = caller.lastCpu;
      this.m.scheduler.wakeStaying([this.worker]);
      return;
    }
    this.worker.wake(this.wakeAware ? undefined : 0);
  }
}

export class KernelMountPath {
  /** The rwsem named namespace_sem: mountinfo readers take it for read per read(). */
  readonly namespaceSem: RwSemaphore;
  /** The seqlock named mount_lock: every path walk reads its sequence. */
  readonly mountLock: SeqLock;
  /** Every lock of the kernel model, built by its declared kind. */
  readonly locks = new Map<string, RwSemaphore | SeqLock>();
  /** The lines of {sharedLines} steps, by name. */
  readonly sharedLines = new Map<string, CacheLine>();
  /**
   * Members of the peer group of the mount the layers live on (that mount
   * itself included): 0 while it is private, else 1 plus every clone that
   * joined (clone_mnt of a shared source) and has not left (umount_tree,
   * a propagation change). Ring walks cost per member.
   */
  peers: number;
  maxPeers: number;
  /** Each thread's clones now in the peer group (a thread leaves only with its own). */
  private readonly joined = new Map<SimThread, number>();
  /**
   * Members of the group attached to the host's table (listed in mountinfo,
   * and so copied, as slaves, into a slave namespace made from it), the
   * group's mount itself included; clones still detached are in the ring but
   * in no table.
   */
  attachedPeers: number;
  private readonly attached = new Map<SimThread, number>();
  /** Bytes of /proc/self/mountinfo (with the kernel model's propagation section). */
  mountTableBytes = 0;
  readonly rcu: ExpeditedRcu;
  /** Mounts in the host's mount table (what /proc/self/mountinfo lists). */
  mountTable: number;
  maxMountTable: number;
  /** Path walks that had to retry because a writer moved the sequence. */
  pathRetries = 0;
  pathLookups = 0;
  /** Flattened steps by prefix, syscall key and layers. */
  private readonly flat = new Map<string, Map<string, Map<number, FlatStep[]>>>();
  private readonly percpuNs: number;

  private readonly jitterCv: number;
  private readonly jitterStreams = new Map<SimThread, RandomStream>();

  /**
   * The factor on one piece of `t`'s CPU work (mechanisms.workJitterCv; 1
   * without it). Each thread draws from its own stream, so adding a thread
   * changes no other thread's draws.
   */
  jitter(t: SimThread): number {
    if (this.jitterCv <= 0) return 1;
    let r = this.jitterStreams.get(t);
    if (!r) {
      r = this.m.random.stream(`work-jitter/${t.name}`);
      this.jitterStreams.set(t, r);
    }
    return r.unitLogNormal(this.jitterCv);
  }

  constructor(
    readonly m: Machine,
    readonly kernel: KernelModel,
    baseMounts: number,
    readonly propagation: PropagationSetup = NO_PROPAGATION,
  ) {
    this.jitterCv = kernel.mechanisms.workJitterCv?.value ?? 0;
    // In the file's order, so that the fabric's lines are made in a fixed order.
    for (const [name, def] of Object.entries(kernel.locks)) {
      this.locks.set(name, def.kind === 'rwsem' ? new RwSemaphore(name, m.coherence, { optimisticSpin: def.optimisticSpin ?? true }) : new SeqLock(name, m.coherence, 'qspinlock'));
    }
    // The kernel data lines that every CPU's mount ops write outside the
    // locks' own words ({sharedLines}), one line each, made in the order the
    // file first names them.
    const name = (steps: readonly KernelStep[]): void => {
      for (const st of steps) {
        if (st.kind === 'sharedLines') for (const l of st.lines) if (!this.sharedLines.has(l)) this.sharedLines.set(l, m.coherence.newLine(`kernel:${l}`));
        if (st.kind === 'forEachLayer' || st.kind === 'forEachMount') name(st.steps);
        if (st.kind === 'if') name([...st.then, ...st.else]);
      }
    };
    for (const sc of Object.values(kernel.syscalls)) name(sc.steps);
    const ns = this.locks.get('namespace_sem');
    const ml = this.locks.get('mount_lock');
    if (!(ns instanceof RwSemaphore)) throw new Error('kernel model: namespace_sem must be declared, kind rwsem (mountinfo readers take it)');
    if (!(ml instanceof SeqLock)) throw new Error('kernel model: mount_lock must be declared, kind seqlock (path walks read it)');
    this.namespaceSem = ns;
    this.mountLock = ml;
    this.peers = propagation.layerParentShared ? 1 : 0;
    this.maxPeers = this.peers;
    this.attachedPeers = this.peers;
    const lineBytes = kernel.propagation?.mountinfoLineBytes.value ?? 0;
    this.mountTableBytes = baseMounts * lineBytes;
    const cpus = m.cpus;
    const mech = kernel.mechanisms;
    // The sum runs over all *possible* CPUs; on these machines that is every logical CPU.
    this.percpuNs = cpus * mech.percpuSumPerCpuNs.value;
    const fast = mech.rcuExpeditedIdleFastNs && mech.rcuExpeditedIdleFastShare ? { ns: mech.rcuExpeditedIdleFastNs.value, share: mech.rcuExpeditedIdleFastShare.value, warmup: mech.rcuExpeditedIdleWarmupGps?.value ?? 0 } : null;
    this.rcu = new ExpeditedRcu(m, mech.rcuExpeditedBaseNs.value, mech.rcuExpeditedPerCpuNs.value, fast, kernel.rcuExpeditedWorker?.priority === 'normal', (mech.rcuPreemptible?.value ?? 0) >= 1);
    this.mountTable = baseMounts;
    this.maxMountTable = baseMounts;
  }

  /**
   * Run syscall `key` for an image of `layers` layers on thread `t`; `prefix`
   * roots its stack labels: `yield path.syscall(t, prefix, key, layers)`.
   * A state machine (`SyscallCall`, one per thread, reused): the thread
   * resumes a syscall after every step, and a generator's resume costs
   * several times a call (docs/architecture.md, "Hot calls as state machines").
   */
  syscall(t: SimThread, prefix: string, key: string, layers: number): Call {
    let c = this.syscalls[t.id];
    if (c === undefined) c = this.syscalls[t.id] = new SyscallCall(this);
    return c.start(t, prefix, key, layers).frame;
  }
  private readonly syscalls: SyscallCall[] = [];

  /** A LoopBegin step: passes of the forEachMount body and the mounts each stands for; 0 passes: skip the body. */
  loopPasses(): number {
    return Math.min(this.mountTable, MOUNT_LOOP_PASSES);
  }

  /** The CPU work of a PerPeer step (the whole ring walk), ns, or -1 without peers (no work at all). */
  perPeerNs(s: FlatStep): number {
    return this.peers > 0 ? s.value * this.propagationTreeMembers() * this.propagation.ringStepCostFactor : -1;
  }

  /** A JoinPeerGroup step. */
  joinPeerGroup(t: SimThread): void {
    if (this.propagation.layerParentShared) {
      this.peers++;
      if (this.peers > this.maxPeers) this.maxPeers = this.peers;
      this.joined.set(t, (this.joined.get(t) ?? 0) + 1);
    }
  }

  /** A LeavePeerGroup step. */
  leavePeerGroup(t: SimThread): void {
    const mine = this.joined.get(t) ?? 0;
    if (mine > 0) {
      this.peers--;
      this.joined.set(t, mine - 1);
      // A detached clone leaves first (a close or MS_PRIVATE before attaching); else an attached one (umount).
      const on = this.attached.get(t) ?? 0;
      if (on === mine) {
        this.attached.set(t, on - 1);
        this.attachedPeers--;
      }
    }
  }

  /**
   * Consecutive CPU steps from `i` as one piece of work (one event), each
   * piece keeping its label and its own jitter draw; returns the index of
   * the last one.
   */
  cpuSteps(t: SimThread, steps: FlatStep[], i: number, factor: number): number {
    let last = i;
    while (last + 1 < steps.length && isCpuStep(steps[last + 1].kind)) last++;
    if (last === i) {
      t.work(this.cpuStepNs(t, steps[i], factor));
      return last;
    }
    // Scratch arrays reused as they are (no `length = 0`, which drops their storage).
    const ns = this.pieceNs, labels = this.pieceLabels;
    for (let k = i; k <= last; k++) {
      ns[k - i] = this.cpuStepNs(t, steps[k], factor);
      labels[k - i] = steps[k].activity;
    }
    t.workPieces(ns, labels, last - i + 1);
    return last;
  }

  /** ns of one Cpu or CpuPerMount step now (`factor`: mounts each forEachMount pass stands for). */
  private cpuStepNs(t: SimThread, s: FlatStep, factor: number): number {
    return s.kind === StepKind.Cpu ? s.value * factor * this.jitter(t) : perMountWalkNs(this.kernel, s.value, this.mountTable, this.warmWalk(t));
  }

  /**
   * Whether the {cpuPerMount} walk thread `t` starts now finds the list in
   * its CPU's cache (perMountWalkNs' warm walk): only if the machine's last
   * walk was on this CPU and the CPU has run only this thread, without
   * idling, since (its `Scheduler.occupancy` has not moved). Otherwise it is
   * cold: another thread's work, the host's while the vCPU idled, or the
   * other CPU's walks and mount changes came between. Measured on the 2-vCPU
   * guest (measurements/storm-cpu-2026-12-01, clock-timed): 1,000 mounts took
   * 11.6 us walked back to back, 31 us after 4 MB of other memory traffic and
   * 25 us after a 1 ms idle; two threads on the two vCPUs taking turns, each
   * attaching and unmounting a mount between its walks as a storm's threads
   * do, paid 94% more at 1,000 mounts and 22% more at 3,400 (60-70% of the
   * way to the cold price), without the churn 4-59%. Counting a turn as a
   * full cold walk is the approximation; refitted, it beats counting only the
   * CPU's own changes or idles (docs/validation.md, Sixteenth session).
   */
  private warmWalk(t: SimThread): boolean {
    const cpu = t.cpu;
    const now = t.scheduler.occupancy(cpu);
    // The machine's first walk is taken as warm: the idle single call's price (idleSyscallNs), which the knee's series measures.
    const warm = this.lastWalkCpu === -1 || (this.lastWalkCpu === cpu && this.lastWalkOccupancy === now);
    this.lastWalkCpu = cpu;
    this.lastWalkOccupancy = now;
    return warm;
  }
  /** The CPU of the machine's last {cpuPerMount} walk (-1: none yet) and its occupancy then (warmWalk). */
  private lastWalkCpu = -1;
  private lastWalkOccupancy = -1;

  /** Scratch arrays for workPieces (read by the thread at once). */
  private readonly pieceNs: number[] = [];
  private readonly pieceLabels: number[] = [];

  /**
   * One path walk: path_init reads mount_lock's sequence, spinning while a
   * writer holds it; the walk itself; then a retry if the sequence moved.
   * `spinning` and `walking` are the activity labels of the two phases.
   */
  *pathLookup(t: SimThread, spinning: number, walking: number): Steps {
    this.pathLookups++;
    t.enterKernel();
    const retries = (yield this.mountLock.read(t, this.kernel.host.pathLookupNs.value, spinning, walking)) as number;
    this.pathRetries += retries;
    if (t.exitKernel()) {
      t.yieldCpu();
      yield;
    }
  }


  /**
   * Lines one read() of `readBytes` shows: seq_read_iter shows records until
   * the reader's buffer is full (at least one, however long), all under one
   * m_start/m_stop. Lines are the table's mean length (an overlay's line
   * carries its lowerdirs).
   */
  linesPerRead(readBytes: number): number {
    if (this.mountTable <= 0 || this.mountTableBytes <= 0) return 1;
    return Math.max(1, Math.ceil(readBytes / (this.mountTableBytes / this.mountTable)));
  }

  /**
   * Kernel time of show_mountinfo for `lines` lines now: the per-line cost,
   * and in a slave namespace get_dominating_id for each slave line whose
   * master is the layers' parent group, walking its whole ring (every
   * member, detached clones included). Those lines are the group's attached
   * members (each one's copy in the reader's namespace is a slave of it): a
   * share attachedPeers/table of the lines.
   */
  showMountinfoNs(lines: number, slave: boolean): number {
    let ns = lines * this.kernel.host.mountinfoReadPerMountNs.value;
    const prop = this.kernel.propagation;
    if (prop && slave && this.peers > 1 && this.mountTable > 0) {
      ns += lines * Math.min(1, this.attachedPeers / this.mountTable) * this.peers * prop.dominatingIdPerPeerNs.value * this.propagation.ringStepCostFactor;
    }
    return ns;
  }

  /**
   * Mounts a writer's propagation walk visits: the group's members, and in
   * each slave namespace the slave copy of every attached member (measured on
   * this host: each slave namespace holding copies adds ~30-34 ns per peer to
   * a move_mount, about the per-peer cost of the group itself; docs/validation.md,
   * "Mount propagation, measured").
   */
  propagationTreeMembers(): number {
    return this.peers + this.propagation.slaveNamespaces * this.attachedPeers;
  }

  /** `t` attached a tree to the host's table (move_mount): one of its detached clones in the group, if any, is now listed. */
  attachClone(t: SimThread): void {
    const on = this.attached.get(t) ?? 0;
    if ((this.joined.get(t) ?? 0) > on) {
      this.attached.set(t, on + 1);
      this.attachedPeers++;
    }
  }

  /** Label ids for a path walk outside any syscall (background activity). */
  pathLookupLabels(prefix: string): { spinning: number; walking: number } {
    const a = this.m.activities;
    return { spinning: a.id(`${prefix};path_init;mount_lock;spin`, { phase: 'pathSpin', inLock: false, inSeqlock: false }), walking: a.id(`${prefix};path_walk`) };
  }

  flatten(prefix: string, key: string, layers: number): FlatStep[] {
    // Looked up by the caller's strings as they are (no key built per syscall: building and hashing it was ~1% of a launch).
    let byKey = this.flat.get(prefix);
    if (!byKey) this.flat.set(prefix, (byKey = new Map()));
    let byLayers = byKey.get(key);
    if (!byLayers) byKey.set(key, (byLayers = new Map()));
    let flat = byLayers.get(layers);
    if (flat) return flat;
    flat = [];
    const names = this.m.activities;
    const held: string[] = [];
    const heldSeq: boolean[] = [];
    const nsModes: ('read' | 'write')[] = [];
    const kind = (phase: ActivityPhase): ActivityKind => ({ phase, inLock: held.length > 0, inSeqlock: heldSeq.includes(true) });
    const label = (leaf: string, phase: ActivityPhase = 'work') => names.id([prefix, key, ...held, leaf].join(';'), kind(phase));
    const inside = () => names.id([prefix, key, ...held].join(';'), kind('work'));
    const costs = this.kernel.costs;
    const visit = (steps: readonly KernelStep[]) => {
      for (const s of steps) {
        switch (s.kind) {
          case 'lock': {
            // The lock's declared kind gives its behaviour (and its label: a sleeping lock is waited for, a spinlock spun on).
            const lock = this.locks.get(s.lock)!;
            const isRw = lock instanceof RwSemaphore;
            const activity = label(isRw ? `${s.lock};wait` : `${s.lock};spin`, isRw ? 'wait' : 'spin');
            held.push(isRw ? `${s.lock}(${s.mode === 'read' ? 'r' : 'w'})` : s.lock);
            heldSeq.push(!isRw);
            if (isRw) {
              nsModes.push(s.mode);
              flat!.push({ kind: s.mode === 'read' ? StepKind.RwRead : StepKind.RwWrite, value: 0, activity, after: inside(), walk: 0, rw: lock });
            } else flat!.push({ kind: StepKind.SeqWrite, value: 0, activity, after: inside(), walk: 0, seq: lock });
            break;
          }
          case 'unlock': {
            const lock = this.locks.get(s.lock)!;
            const activity = label('release');
            held.pop();
            heldSeq.pop();
            if (lock instanceof RwSemaphore) {
              const mode = nsModes.pop();
              flat!.push({ kind: mode === 'read' ? StepKind.RwUpRead : StepKind.RwUpWrite, value: 0, activity, after: inside(), walk: 0, rw: lock });
            } else flat!.push({ kind: StepKind.SeqUnlock, value: 0, activity, after: inside(), walk: 0, seq: lock });
            break;
          }
          case 'perPeer':
            flat!.push({ kind: StepKind.PerPeer, value: costs[s.cost]!.value, activity: label(s.cost), after: inside(), walk: 0 });
            break;
          case 'joinPeerGroup':
            flat!.push({ kind: StepKind.JoinPeerGroup, value: 0, activity: inside(), after: inside(), walk: 0 });
            break;
          case 'leavePeerGroup':
            flat!.push({ kind: StepKind.LeavePeerGroup, value: 0, activity: inside(), after: inside(), walk: 0 });
            break;
          case 'if':
            visit(this.propagation[s.condition] ? s.then : s.else);
            break;
          case 'cpu':
            flat!.push({ kind: StepKind.Cpu, value: costs[s.cost]!.value, activity: label(s.cost), after: inside(), walk: 0 });
            break;
          case 'cpuPerMount':
            flat!.push({ kind: StepKind.CpuPerMount, value: costs[s.cost]!.value, activity: label(s.cost), after: inside(), walk: 0 });
            break;
          case 'percpuSum':
            flat!.push({ kind: StepKind.Cpu, value: this.percpuNs, activity: label('percpu_sum'), after: inside(), walk: 0 });
            break;
          case 'sharedLines':
            for (const name of s.lines) flat!.push({ kind: StepKind.SharedWrite, value: 0, activity: label(`${name};line`, 'spin'), after: inside(), walk: 0, line: this.sharedLines.get(name)! });
            break;
          case 'rcuGracePeriod':
            flat!.push({ kind: StepKind.Rcu, value: 0, activity: label('synchronize_rcu_expedited', 'rcu'), after: inside(), walk: 0 });
            break;
          case 'pathLookups':
            // For path walks, `activity` is the spin phase and `after` the walk itself.
            flat!.push({ kind: StepKind.PathLookup, value: s.count, activity: label('path_init;mount_lock;spin', 'pathSpin'), after: inside(), walk: label('path_walk') });
            break;
          case 'forEachLayer':
            for (let i = 0; i < layers; i++) visit(s.steps);
            break;
          case 'forEachMount': {
            const begin = flat!.length;
            flat!.push({ kind: StepKind.LoopBegin, value: 0, activity: inside(), after: inside(), walk: 0 });
            visit(s.steps);
            flat![begin]!.value = flat!.length;
            flat!.push({ kind: StepKind.LoopEnd, value: begin, activity: inside(), after: inside(), walk: 0 });
            break;
          }
        }
      }
    };
    visit(this.kernel.syscalls[key]!.steps);
    byLayers.set(layers, flat);
    return flat;
  }
}

/** States of a SyscallCall, named by what it does next. */
const enum Sys {
  /** Flatten the syscall and enter the kernel. */
  Start,
  /** Run step `i`. */
  Step,
  /** Step `i` is over: its `after` label, then the next step. */
  After,
  /** A SeqWrite's writeLock returned: the rest of the forEachMount pass's write sections. */
  SeqLocked,
  /** A PathLookup step: its next walk, or the step is over. */
  Walk,
  /** A walk returned its retries. */
  Walked,
  /** Every step done: leave the kernel. */
  Exit,
  /** The CPU owed at the kernel exit was yielded. */
  Done,
}

/**
 * `KernelMountPath.syscall` as a state machine; the same steps, in the same
 * order, as the generator it replaced (test/callMachines.test.ts runs that
 * generator as the reference): for each flattened step, label it, run it
 * (a lock call, CPU work, a loop bound), label what follows.
 */
class SyscallCall extends CallMachine {
  private prefix = '';
  private key = '';
  private layers = 0;
  private steps: FlatStep[] = [];
  private i = 0;
  /** Inside a forEachMount: how many mounts each pass stands for, and passes left. */
  private factor = 0.5;
  private passesLeft = 0;
  /** Walks of the current PathLookup step done. */
  private walks = 0;
  constructor(private readonly path: KernelMountPath) {
    super();
    this.factor = 1;
  }

  start(t: SimThread, prefix: string, key: string, layers: number): this {
    this.t = t;
    this.prefix = prefix;
    this.key = key;
    this.layers = layers;
    this.state = Sys.Start;
    return this;
  }

  private calling(c: Call, next: Sys): IteratorYieldResult<Call | void> {
    this.state = next;
    this.call.value = c;
    return this.call;
  }

  next(value?: unknown): IteratorResult<Call | void, unknown> {
    const t = this.t!, path = this.path;
    for (;;) {
      switch (this.state) {
        case Sys.Start:
          this.steps = path.flatten(this.prefix, this.key, this.layers);
          t.enterKernel();
          this.factor = 1;
          this.passesLeft = 0;
          this.i = 0;
          this.state = Sys.Step;
          break;
        case Sys.Step: {
          const steps = this.steps;
          if (this.i >= steps.length) {
            this.state = Sys.Exit;
            break;
          }
          const s = steps[this.i];
          t.doing(s.activity);
          this.state = Sys.After;
          switch (s.kind) {
            case StepKind.LoopBegin: {
              const passes = path.loopPasses();
              if (passes <= 0) {
                this.i = s.value + 1; // skip the body
                this.state = Sys.Step;
                break;
              }
              this.passesLeft = passes;
              this.factor = path.mountTable / passes;
              break;
            }
            case StepKind.LoopEnd:
              if (--this.passesLeft > 0) {
                this.i = s.value + 1; // next pass
                this.state = Sys.Step;
                break;
              }
              this.factor = 1;
              break;
            case StepKind.RwRead:
              return this.calling(s.rw!.downRead(t), Sys.After);
            case StepKind.RwWrite:
              return this.calling(s.rw!.downWrite(t), Sys.After);
            case StepKind.RwUpRead:
              return this.calling(s.rw!.upRead(t), Sys.After);
            case StepKind.RwUpWrite:
              return this.calling(s.rw!.upWrite(t), Sys.After);
            case StepKind.SeqWrite:
              // spin_lock: preemption off from the spin to the unlock.
              t.atomicDepth++;
              return this.calling(s.seq!.writeLock(t), Sys.SeqLocked);
            case StepKind.SeqUnlock:
              t.atomicDepth--;
              return this.calling(s.seq!.writeUnlock(t), Sys.After);
            case StepKind.PerPeer: {
              // The whole ring walk as one piece of work: events do not grow with the peers.
              const ns = path.perPeerNs(s);
              if (ns >= 0) {
                t.work(ns);
                return WAIT;
              }
              break;
            }
            case StepKind.JoinPeerGroup:
              path.joinPeerGroup(t);
              break;
            case StepKind.LeavePeerGroup:
              path.leavePeerGroup(t);
              break;
            case StepKind.Cpu:
            case StepKind.CpuPerMount:
              // Consecutive CPU steps are one piece of work; the last one's `after` follows it.
              this.i = path.cpuSteps(t, steps, this.i, this.factor);
              return WAIT;
            case StepKind.SharedWrite:
              // A hit where this core wrote the line last; else its transfer, waited for.
              if (path.m.coherence.rmw(t, s.line!)) return WAIT;
              break;
            case StepKind.Rcu:
              return this.calling(path.rcu.synchronize(t), Sys.After);
            case StepKind.PathLookup:
              this.walks = 0;
              this.state = Sys.Walk;
              break;
          }
          break;
        }
        case Sys.After:
          this.call.value = undefined;
          t.doing(this.steps[this.i].after);
          this.i++;
          this.state = Sys.Step;
          break;
        case Sys.SeqLocked: {
          this.call.value = undefined;
          this.state = Sys.After;
          const seq = this.steps[this.i].seq!;
          if (this.factor > 1) {
            // The other factor-1 write sections this pass stands for: each pulls
            // the line back from the path walks that read it in between, at
            // the price this one just paid (waiting behind other writers is
            // already in the simulation, once).
            t.work((this.factor - 1) * 2 * seq.lastSequenceWriteNs);
            return WAIT;
          }
          break;
        }
        case Sys.Walk: {
          const s = this.steps[this.i];
          if (this.walks >= s.value) {
            this.state = Sys.After;
            break;
          }
          path.pathLookups++;
          return this.calling(path.mountLock.read(t, path.kernel.host.pathLookupNs.value, s.activity, s.walk), Sys.Walked);
        }
        case Sys.Walked:
          this.call.value = undefined;
          path.pathRetries += value as number;
          this.walks++;
          this.state = Sys.Walk;
          break;
        case Sys.Exit:
          this.state = Sys.Done;
          if (t.exitKernel()) {
            t.yieldCpu();
            return WAIT;
          }
          break;
        default:
          this.t = null;
          this.steps = [];
          return DONE;
      }
    }
  }
}
