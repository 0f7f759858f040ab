/**
 * Simulated threads: generator processes that run on logical CPUs.
 *
 * A thread's body is a generator. Every primitive the body calls (work, sleep,
 * or a cache-line operation) arranges exactly one later `wake()` and the body
 * then `yield`s; `wake()` resumes it. This is SimPy's process model without an
 * event object per step.
 *
 * Where a thread is matters for what waiting costs:
 *  - running on a CPU (computing or spinning): it holds the CPU, and its SMT
 *    sibling runs slower;
 *  - asleep (blocked in a semaphore): it has released its CPU;
 *  - runnable: it wants a CPU and waits in the run queue (time slicing).
 * A wake that arrives while the thread is preempted is kept and delivered when
 * the thread runs again, so lock-holder and waiter preemption fall out naturally.
 */
import type { EventTarget, Simulator } from '../engine/simulator.ts';
import type { RandomStream } from '../engine/random.ts';
import type { Scheduler } from './scheduler.ts';
import type { CacheLine, StoreWrite } from '../hardware/coherence.ts';
import { ActivityLedger } from './activity.ts';

/** A spinner's wait that an event elsewhere (its owner leaving the CPU, need_resched) cuts short. */
export interface SpinInterrupt {
  interrupt(): void;
}

/**
 * A generator a body runs as a call: `yield callee` (instead of `yield*
 * callee`) hands it to the thread, which runs it and resumes the caller with
 * its return value (`const r = (yield callee) as R`). Every resume then
 * enters one generator, the innermost, whatever the depth of calls: with
 * `yield*` each level re-enters every generator between the thread and the
 * innermost one, on every event.
 */
export type Call<R = unknown> = Iterator<Call | void, R, unknown> & { [Symbol.iterator](): Call<R> };
/**
 * A call written as an explicit state machine instead of a generator
 * (issue 14 item 3): the thread drives it through `next` like a generator,
 * but it is an ordinary object, reused for every call (one per thread that
 * makes the call, kept by its owner), and `next` is a plain method call.
 * A generator allocates its object and a `{value, done}` per resume, and a
 * resume costs several times a call. `next` returns `WAIT` to wait for the
 * thread's wake, or `DONE`/`done(value)` when the call returns; the thread
 * reads the result before it calls `next` again, so results are shared.
 * Only for leaf calls on hot paths, where a state or two hold everything.
 */
export abstract class CallMachine<R = unknown> implements Iterator<Call | void, R, unknown> {
  // What every machine keeps. Only fields: a helper method here would be one
  // function for every machine class, its stores megamorphic, where each
  // class's own code is monomorphic (measured 3-4% slower warm:
  // docs/tried/callmachine-base-helpers.patch).
  /** The thread in the call, or null between calls (its `start` sets it). */
  protected t: SimThread | null = null;
  /** Where the call is: each machine names its states (a const enum or numbers); its `start` resets it. */
  protected state = 0;
  /** The result that calls a callee (value: the callee), reused: the thread reads it before it calls `next` again. */
  protected readonly call: IteratorYieldResult<Call | void> = { done: false, value: undefined };
  abstract next(value?: unknown): IteratorResult<Call | void, R>;
  [Symbol.iterator](): this {
    return this;
  }
  /**
   * What the machine's owner hands to the thread (`return c.start(...).frame`):
   * the same calls, through an object of one class whatever the machine's.
   */
  readonly frame: Frame<R> = new Frame<R>(this, this.next);
}

/**
 * A CallMachine as the thread runs it: the machine and its class's `next`.
 * `SimThread.run` calls `fn` on `m` directly. Machines are a dozen classes,
 * so a `gen.next()` there is a megamorphic property load on every resume
 * (~15 ns in a microbenchmark, against ~2 for one class); frames are one
 * class, so loading `fn` and `m` is monomorphic, and only the call's target varies.
 */
export class Frame<R = unknown> implements Iterator<Call | void, R, unknown> {
  constructor(
    readonly m: CallMachine<R>,
    readonly fn: (this: CallMachine<R>, value?: unknown) => IteratorResult<Call | void, R>,
  ) {}
  next(value?: unknown): IteratorResult<Call | void, R> {
    return this.fn.call(this.m, value);
  }
  [Symbol.iterator](): this {
    return this;
  }
}

/** Resume `gen` with `value`: a frame's machine directly, a generator (or any other iterator) through `next`. */
function resume(gen: Call, value?: unknown): IteratorResult<Call | void, unknown> {
  return gen instanceof Frame ? gen.fn.call(gen.m, value) : gen.next(value);
}
/** What a CallMachine's `next` returns to wait for its thread's wake. */
export const WAIT: IteratorYieldResult<Call | void> = { done: false, value: undefined };
/** What it returns when the call is over (no value). */
export const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** A body or a callee: yields `undefined` to wait for its wake, or a Call. */
export type Steps<R = void> = Generator<Call | void, R, unknown>;
export type ThreadBody = (t: SimThread) => Steps;

export const enum ThreadState {
  New,
  Running,
  Runnable,
  Asleep,
  Done,
}

export class SimThread implements EventTarget {
  state = ThreadState.New;
  /** Logical CPU it runs on, or -1. */
  cpu = -1;
  /** The CPU it last ran on, or -1 (per-CPU run queues wake it there). */
  lastCpu = -1;
  /**
   * EEVDF bookkeeping, written only by the Scheduler (wake-aware machines,
   * per-CPU queues): CPU time received (ns, virtual runtime at equal
   * weights), its virtual deadline, whether it is on a run queue (running,
   * queued or in dispatch), and, while asleep, the lag it left with, the
   * average it left behind and the CPU it left.
   */
  vruntime = 0;
  vdeadline = 0;
  onRq = false;
  vlag = 0;
  sleepV = 0;
  sleepCpu = -1;
  /** When it last got its CPU (sim time), for vruntime. */
  ranFrom = 0;
  /** A kernel thread woken on demand (Machine.spawnDaemon): the run ends without it. */
  daemon = false;
  /**
   * The process whose memory the thread runs in (0: the one that starts the
   * run; threads of one process share it). A CPU switching between two pays
   * the hardware model's address-space switch (Scheduler, AddressSpaceSwitch);
   * a daemon (kernel thread) borrows whatever is loaded.
   */
  addressSpace = 0;
  /** CPUs it may run on (affinity); empty = any. */
  affinity: number[] = [];
  /**
   * Nesting depth of kernel code. Server kernels (PREEMPT_NONE/VOLUNTARY) do not
   * preempt a thread in kernel mode: a time slice that ends meanwhile only sets
   * need_resched, honoured when the thread returns to user mode.
   */
  kernelDepth = 0;
  /**
   * Lock sections with preemption off: spinning on or holding a spinlock
   * (mount_lock's write side), spinning on a rw-semaphore. With preemptible
   * RCU only these hold an expedited grace period (ExpeditedRcu.awaitReports).
   */
  atomicDepth = 0;
  /** The slice ended while the thread could not be preempted (set through `requestResched`). */
  needResched = false;
  /**
   * Who waits for this thread to leave its CPU (sleep, preemption, yield, end):
   * optimistic spinners on a lock it owns (rwsem_spin_on_owner's
   * owner_on_cpu check). Each is told once, then forgotten.
   */
  private leaveCpuWatchers: SpinInterrupt[] = [];
  private quiescentWatchers: SpinInterrupt[] = [];
  /** The spin this thread is in, told when need_resched is set (osq_lock and rwsem_spin_on_owner give up on it). */
  spinInterrupt: SpinInterrupt | null = null;
  /**
   * Local clock: ns the thread has run ahead of the simulator's clock without
   * an event (L1 hits, see CoherenceFabric.load). Its next wait starts that
   * much later (work, a timer, a miss); a spin or a sleep absorbs it.
   */
  lag = 0;
  /** L1 hits taken without an event since the thread last resumed (bounded in CoherenceFabric). */
  inlineHits = 0;
  /**
   * Set by the fabric when it resumes a herd spinner that must re-read the
   * line itself (CoherenceFabric.spinUntil); the spin loop clears it.
   */
  reread = false;
  /**
   * The herd re-read the fabric queued for this thread at a publish (a pool
   * id, or -1), and what the fabric is told if the thread leaves its CPU
   * before that re-read arrives (CoherenceFabric.releaseHerd).
   */
  herdRequest = -1;
  herdLeave: SpinInterrupt | null = null;
  /**
   * A plain store of this thread in its store buffer (CoherenceFabric.store):
   * its line, until the store is visible (the line's read-for-ownership
   * filled), else null. The thread's loads of that line read the store; an
   * atomic or another store of the thread waits for it (`drainLine`,
   * `drainStore`: what the thread issues once it is visible).
   */
  storeLine: CacheLine | null = null;
  drainLine: CacheLine | null = null;
  drainStore: StoreWrite | null = null;
  /** When the thread began to wait for its store (its local time then). */
  drainAt = 0;
  /** The stores of the thread that want to know when they are visible (`StoreWrite.visible`), told with `storeLine`'s (or at once, on a hit); emptied then. */
  readonly pendingStores: StoreWrite[] = [];

  /** On a CPU (computing or spinning), not preempted, asleep or done. */
  get running(): boolean {
    return this.state === ThreadState.Running;
  }

  /** The thread's own time: the simulator's clock plus what it ran ahead (what a timestamp it takes reads). */
  get localNow(): number {
    return this.sim.now + this.lag;
  }
  /** A wake arrived while the thread was off its CPU (preempted), or while it held its CPU before a sleep (`owed`). */
  private pendingWake = false;
  /**
   * CPU time the thread's step spent on what is not simulated as work (an
   * IPI's send: `owe`), also in `lag`: a wait starts that much later, and a
   * sleep keeps the CPU that long before letting it go. Only the part still
   * in `lag` is owed (a wait that began since paid it).
   */
  private owed = 0;
  /** The thread keeps its CPU, asleep for its body, until the owed time is over (`sleep`). */
  private holding = false;
  private holdEpoch = 0;
  private readonly holdEnd = { fire: (epoch: number) => this.endHold(epoch) };
  /** Remaining work (ns of unslowed work) when preempted in the middle of `work`. */
  private remainingWork = 0;
  private workEpoch = 0;
  /**
   * A work made of consecutive labelled pieces (`workPieces`): the labels of
   * the pieces after the first, and the unslowed work done (since the whole
   * work began) when each starts; they are entered in the ledger when the
   * work completes or is preempted, at the times the pieces began.
   */
  private pieceLabels: number[] = [];
  private pieceAt: number[] = [];
  /** Entries of `pieceLabels` and `pieceAt` in use (the arrays are reused: setting `length = 0` dropped their storage each time). */
  private pieceCount = 0;
  private pieceNext = 0;
  /** Unslowed work of the current pieces done before the current run on a CPU. */
  private pieceBase = 0;
  private workStart = 0;
  private workFactor = 1;
  private working = false;
  /** Inside `step` (the body is running): only then may a wait be skipped (`canAdvance`). */
  private stepping = false;
  /** The wait the body is about to yield for is over already (the clock moved, `Simulator.advance`): resume it at once. */
  private continueNow = false;
  /** The innermost generator running, and the callers waiting for it to return (`Call`). */
  private gen: Call;
  private readonly callers: Call[] = [];

  constructor(
    readonly id: number,
    readonly name: string,
    readonly sim: Simulator,
    readonly scheduler: Scheduler,
    readonly rng: RandomStream,
    readonly ledger: ActivityLedger,
    body: ThreadBody,
  ) {
    // These fields hold fractional ns. Stored once as a fraction before any
    // code runs on them, V8 keeps them as doubles from the start: a field
    // first seen holding a small integer and later a fraction changes the
    // class's hidden map mid-run and throws away every function optimized
    // for the old one (a cold run's deoptimizations; docs/architecture.md).
    this.lag = this.remainingWork = this.pieceBase = this.workStart = this.workFactor = 0.5;
    this.vruntime = this.vdeadline = this.vlag = this.sleepV = this.ranFrom = 0.5;
    this.lag = this.remainingWork = this.pieceBase = this.workStart = 0;
    this.vruntime = this.vdeadline = this.vlag = this.sleepV = this.ranFrom = 0;
    this.workFactor = 1;
    this.gen = body(this);
  }

  /**
   * Resume the body now if it is on a CPU; otherwise remember (or queue for a
   * CPU). `delay`: the wake-up's delay before it runs on an idle CPU (default:
   * the machine's wake-up latency).
   */
  wake(delay?: number): void {
    switch (this.state) {
      case ThreadState.Running:
        if (this.holding) {
          this.pendingWake = true;
          return;
        }
        this.step();
        return;
      case ThreadState.Runnable:
        this.pendingWake = true;
        return;
      case ThreadState.Asleep:
        this.pendingWake = true;
        this.scheduler.makeRunnable(this, delay);
        return;
      case ThreadState.New:
        // A daemon's first wake (Machine.spawnDaemon): its body starts when it gets a CPU.
        this.scheduler.makeRunnable(this, delay);
        return;
      default:
        throw new Error(`wake of thread ${this.name} in state ${this.state}`);
    }
  }

  /**
   * Instead of scheduling its wake `delay` ns from now, the thread may move
   * the clock there and go on (Simulator.advance): when its step ends the
   * current event (`sim.tail`), it runs on its CPU with no local lag, and
   * that wake would be the next event. Exact: everything happens at the
   * same time and in the same order, without the event. Returns whether the
   * clock moved; the wait is then over.
   */
  advanceFor(delay: number): boolean {
    return this.stepping && this.lag === 0 && this.sim.tail === this && this.state === ThreadState.Running && this.sim.advance(delay);
  }

  /** Called by the scheduler when the thread gets a CPU. */
  dispatched(cpu: number): void {
    this.cpu = cpu;
    this.lastCpu = cpu;
    const first = this.state === ThreadState.New;
    this.state = ThreadState.Running;
    this.ledger.resume(this.id, this.sim.now);
    if (first) {
      this.step();
    } else if (this.remainingWork > 0) {
      this.startWork(this.remainingWork);
    } else if (this.pendingWake) {
      this.pendingWake = false;
      this.step();
    }
  }

  /** Called by the scheduler when the time slice ends and another thread wants this CPU. */
  preempted(): void {
    this.lag = 0;
    if (this.working) {
      const done = Math.max(0, (this.sim.now - this.workStart) / this.workFactor);
      if (this.pieceNext < this.pieceCount) {
        this.labelPieces(this.pieceBase + done);
        this.pieceBase += done;
      }
      this.remainingWork = Math.max(0, this.remainingWork - done);
      this.working = false;
      this.workEpoch++;
      // The slice ended at the instant the work completed, before its
      // completion event ran (which the epoch now voids): the wake that event
      // owed is owed at the next dispatch. Without this the thread came back
      // Running with nothing left to resume it, and stayed on its CPU forever.
      if (this.remainingWork === 0) this.pendingWake = true;
    }
    this.ledger.suspend(this.id, this.sim.now);
    this.state = ThreadState.Runnable;
    this.cpu = -1;
    this.leftCpu();
  }

  /**
   * An interrupt on this thread's CPU takes `ns` from it (an IPI's handler
   * and, on a virtual machine, the exits around its delivery): work in
   * progress completes that much later; otherwise its next wait starts that
   * much later (the local clock, `lag`; a spin or a sleep absorbs it).
   */
  interrupted(ns: number): void {
    if (this.state !== ThreadState.Running || !(ns > 0)) return;
    if (!this.working) {
      this.lag += ns;
      return;
    }
    this.workStart += ns;
    this.workEpoch++;
    this.sim.schedule(this.workStart + this.remainingWork * this.workFactor - this.sim.now, this, -this.workEpoch);
  }

  /** Tell `w` (once) when this thread leaves its CPU. */
  watchLeaveCpu(w: SpinInterrupt): void {
    if (!this.leaveCpuWatchers.includes(w)) this.leaveCpuWatchers.push(w);
  }

  /** The scheduler wants this CPU back while the thread is in kernel mode. */
  requestResched(): void {
    this.needResched = true;
    this.spinInterrupt?.interrupt();
  }

  /**
   * Tell `w` (once) when this thread next passes an RCU quiescent state as a
   * non-preemptible kernel sees one: it leaves its CPU, or it returns to user
   * mode (ExpeditedRcu waits for the busy CPUs' threads).
   */
  watchQuiescent(w: SpinInterrupt): void {
    this.quiescentWatchers.push(w);
  }

  private quiescent(): void {
    if (this.quiescentWatchers.length === 0) return;
    const w = this.quiescentWatchers;
    this.quiescentWatchers = [];
    for (const s of w) s.interrupt();
  }

  private leftCpu(): void {
    this.quiescent();
    if (this.leaveCpuWatchers.length === 0) return;
    const w = this.leaveCpuWatchers;
    this.leaveCpuWatchers = [];
    for (const s of w) s.interrupt();
  }

  // ---- primitives: each arranges one later wake(); the body yields right after ----

  /** Busy CPU work of `ns` nanoseconds (stretched while the SMT sibling is busy). */
  work(ns: number): void {
    this.remainingWork = ns;
    this.startWork(ns);
  }

  /**
   * Consecutive CPU work of `ns[i]` ns labelled `labels[i]`, as one piece of
   * work and one event: the same time and the same ledger as one `doing` +
   * `work` per piece, without an event between pieces. Only the first
   * `count` entries of `ns` and `labels` are read (callers reuse scratch arrays).
   */
  workPieces(ns: readonly number[], labels: readonly number[], count = ns.length): void {
    this.doing(labels[0]);
    let total = ns[0];
    for (let i = 1; i < count; i++) {
      this.pieceLabels[i - 1] = labels[i];
      this.pieceAt[i - 1] = total;
      total += ns[i];
    }
    this.pieceCount = count - 1;
    this.pieceNext = 0;
    this.pieceBase = 0;
    this.work(total);
  }

  /** Enter the labels of the pieces begun once `done` ns of the work (unslowed) are done. */
  private labelPieces(done: number): void {
    while (this.pieceNext < this.pieceCount && this.pieceAt[this.pieceNext] <= done) {
      const at = this.workStart + (this.pieceAt[this.pieceNext] - this.pieceBase) * this.workFactor;
      this.ledger.set(this.id, this.pieceLabels[this.pieceNext], at);
      this.pieceNext++;
    }
  }

  /** On its CPU only to spend what it owes before a sleep. */
  get holdsCpu(): boolean {
    return this.holding;
  }

  /** `ns` of this thread's CPU spent now, on what is not simulated as work (Scheduler: an IPI's send). */
  owe(ns: number): void {
    this.owed = Math.min(this.owed, this.lag) + ns;
    this.lag += ns;
  }

  /** Block: release the CPU until someone calls wake(). */
  sleep(): void {
    const owed = Math.min(this.owed, this.lag);
    this.owed = 0;
    if (owed > 0 && this.state === ThreadState.Running) {
      // The CPU is this thread's until what it owes is spent; a wake meanwhile means it never sleeps.
      this.lag = 0;
      this.holding = true;
      this.sim.schedule(owed, this.holdEnd, ++this.holdEpoch);
      return;
    }
    this.release();
  }

  private endHold(epoch: number): void {
    if (epoch !== this.holdEpoch || !this.holding) return;
    this.holding = false;
    this.sim.tail = this;
    if (this.pendingWake) {
      this.pendingWake = false;
      this.step();
      return;
    }
    this.release();
  }

  private release(): void {
    this.lag = 0;
    this.ledger.suspend(this.id, this.sim.now);
    this.state = ThreadState.Asleep;
    const cpu = this.cpu;
    this.cpu = -1;
    this.scheduler.release(cpu);
    this.leftCpu();
  }

  enterKernel(): void {
    this.kernelDepth++;
  }

  /**
   * Leave kernel mode. Returns true when the thread owes the CPU to a waiting
   * thread: the caller then does `t.yieldCpu(); yield;`.
   */
  exitKernel(): boolean {
    this.kernelDepth--;
    if (this.kernelDepth !== 0) return false;
    this.quiescent();
    if (!this.needResched) return false;
    this.needResched = false;
    return true;
  }

  /** Sleep for `ns` (a timer): release the CPU, become runnable again afterwards. */
  sleepFor(ns: number): void {
    this.sim.schedule(ns + this.lag, this, 0);
    this.sleep();
  }

  /** Let the CPU go to a waiting thread, if any (sched_yield / cond_resched). */
  yieldCpu(): void {
    this.pendingWake = true;
    this.scheduler.yieldCpu(this);
    if (this.state === ThreadState.Running) {
      this.pendingWake = false;
      this.sim.schedule(this.lag, this, 0);
      this.lag = 0;
    }
  }

  /** Label the time from now on (for the breakdown of where time went). */
  doing(activity: number): void {
    this.ledger.set(this.id, activity, this.sim.now);
  }

  fire(arg: number): void {
    // Whatever this event does ends with this thread's step.
    this.sim.tail = this;
    if (arg < 0) {
      // Work completion; stale if the work was preempted meanwhile.
      if (-arg !== this.workEpoch || !this.working) return;
      if (this.pieceNext < this.pieceCount) this.labelPieces(Infinity);
      this.working = false;
      this.remainingWork = 0;
      this.step();
      return;
    }
    this.wake();
  }

  private startWork(ns: number): void {
    const lag = this.lag;
    this.lag = 0;
    this.working = true;
    this.workStart = this.sim.now + lag;
    this.workFactor = this.scheduler.slowdown(this.cpu);
    this.workEpoch++;
    const d = lag + ns * this.workFactor;
    if (this.advanceFor(d)) {
      // Completed with nothing else happening meanwhile: what fire() would do, then go on.
      if (this.pieceNext < this.pieceCount) this.labelPieces(Infinity);
      this.working = false;
      this.remainingWork = 0;
      this.continueNow = true;
      return;
    }
    this.sim.schedule(d, this, -this.workEpoch);
  }

  private step(): void {
    // Wake-ups made by this body come from its CPU (Scheduler.wakerCpu); steps nest (a body may wake a thread that runs at once).
    const sched = this.scheduler;
    const outer = sched.wakerCpu;
    sched.wakerCpu = this.cpu;
    this.run();
    sched.wakerCpu = outer;
  }

  private run(): void {
    this.inlineHits = 0;
    this.stepping = true;
    let gen = this.gen;
    let r = resume(gen);
    for (;;) {
      if (r.done) {
        const caller = this.callers.pop();
        if (caller === undefined) break;
        // A call returned: resume its caller with the value.
        this.gen = gen = caller;
        r = resume(gen, r.value);
        continue;
      }
      const callee = r.value;
      if (callee === undefined) {
        // Waits for its wake, unless the wait is over already (advanceFor).
        if (!this.continueNow) {
          this.stepping = false;
          return;
        }
        this.continueNow = false;
        r = resume(gen);
        continue;
      }
      this.callers.push(gen);
      this.gen = gen = callee;
      r = resume(gen);
    }
    this.stepping = false;
    this.lag = 0;
    this.state = ThreadState.Done;
    this.ledger.finish(this.id, this.sim.now);
    const cpu = this.cpu;
    this.cpu = -1;
    this.scheduler.release(cpu);
    this.leftCpu();
    this.scheduler.threadDone(this);
  }
}
