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
import { ActivityLedger } from './activity.ts';

export type ThreadBody = (t: SimThread) => Generator<void, void, void>;

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
  /** CPUs it may run on (affinity); empty = any. */
  affinity: number[] = [];
  /**
   * Nesting depth of kernel code. Server kernels (PREEMPT_NONE/VOLUNTARY) do not
   * preempt a thread in kernel mode: a time slice that ends meanwhile only sets
   * need_resched, honoured when the thread returns to user mode.
   */
  kernelDepth = 0;
  /** The slice ended while the thread could not be preempted. */
  needResched = false;
  /** A wake arrived while the thread was off its CPU (preempted). */
  private pendingWake = false;
  /** Remaining work (ns of unslowed work) when preempted in the middle of `work`. */
  private remainingWork = 0;
  private workEpoch = 0;
  private workStart = 0;
  private workFactor = 1;
  private working = false;
  private readonly gen: Generator<void, void, void>;

  constructor(
    readonly id: number,
    readonly name: string,
    readonly sim: Simulator,
    readonly scheduler: Scheduler,
    readonly rng: RandomStream,
    readonly ledger: ActivityLedger,
    body: ThreadBody,
  ) {
    this.gen = body(this);
  }

  /** Resume the body now if it is on a CPU; otherwise remember (or queue for a CPU). */
  wake(): void {
    switch (this.state) {
      case ThreadState.Running:
        this.step();
        return;
      case ThreadState.Runnable:
        this.pendingWake = true;
        return;
      case ThreadState.Asleep:
        this.pendingWake = true;
        this.scheduler.makeRunnable(this);
        return;
      default:
        throw new Error(`wake of thread ${this.name} in state ${this.state}`);
    }
  }

  /** Called by the scheduler when the thread gets a CPU. */
  dispatched(cpu: number): void {
    this.cpu = cpu;
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
    if (this.working) {
      const done = (this.sim.now - this.workStart) / this.workFactor;
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
  }

  // ---- primitives: each arranges one later wake(); the body yields right after ----

  /** Busy CPU work of `ns` nanoseconds (stretched while the SMT sibling is busy). */
  work(ns: number): void {
    this.remainingWork = ns;
    this.startWork(ns);
  }

  /** Block: release the CPU until someone calls wake(). */
  sleep(): void {
    this.ledger.suspend(this.id, this.sim.now);
    this.state = ThreadState.Asleep;
    const cpu = this.cpu;
    this.cpu = -1;
    this.scheduler.release(cpu);
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
    if (this.kernelDepth === 0 && this.needResched) {
      this.needResched = false;
      return true;
    }
    return false;
  }

  /** Sleep for `ns` (a timer): release the CPU, become runnable again afterwards. */
  sleepFor(ns: number): void {
    this.sim.schedule(ns, this, 0);
    this.sleep();
  }

  /** Let the CPU go to a waiting thread, if any (sched_yield / cond_resched). */
  yieldCpu(): void {
    this.pendingWake = true;
    this.scheduler.yieldCpu(this);
    if (this.state === ThreadState.Running) {
      this.pendingWake = false;
      this.sim.schedule(0, this, 0);
    }
  }

  /** Label the time from now on (for the breakdown of where time went). */
  doing(activity: number): void {
    this.ledger.set(this.id, activity, this.sim.now);
  }

  fire(arg: number): void {
    if (arg < 0) {
      // Work completion; stale if the work was preempted meanwhile.
      if (-arg !== this.workEpoch || !this.working) return;
      this.working = false;
      this.remainingWork = 0;
      this.step();
      return;
    }
    this.wake();
  }

  private startWork(ns: number): void {
    this.working = true;
    this.workStart = this.sim.now;
    this.workFactor = this.scheduler.slowdown(this.cpu);
    this.workEpoch++;
    this.sim.schedule(ns * this.workFactor, this, -this.workEpoch);
  }

  private step(): void {
    const r = this.gen.next();
    if (r.done) {
      this.state = ThreadState.Done;
      this.ledger.finish(this.id, this.sim.now);
      const cpu = this.cpu;
      this.cpu = -1;
      this.scheduler.release(cpu);
      this.scheduler.threadDone(this);
    }
  }
}
