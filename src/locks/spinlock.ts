/**
 * Mutual-exclusion spinlocks. Each is a value in one cache line plus a policy
 * for touching it; the cost of a handoff is whatever the fabric charges for
 * the traffic the policy generates.
 *
 * Bodies are generator functions: a primitive (`coh.load`, `coh.rmw`,
 * `coh.watch`) arranges the thread's next wake, and the body yields
 * (`coh.load`/`coh.rmw` only on a miss: a hit goes on at once).
 */
import type { CacheLine, CoherenceFabric, SpinCondition } from '../hardware/coherence.ts';
import { CallMachine, DONE, WAIT, type Call, type SimThread, type Steps } from '../cpu/thread.ts';

export type { Steps };

export interface SpinLock {
  readonly name: string;
  /** A call for the thread: `yield lock.acquire(t)`. */
  acquire(t: SimThread): Call;
  release(t: SimThread): Call;
  /** Whether some thread holds it (for invariants in tests). */
  readonly held: boolean;
  /** The cache line waiters poll (data placed on it is falsely shared with the lock). */
  readonly line: CacheLine;
}

/*
 * Spinning with pause while the lock is busy (`yield coh.spinWhile(t, line,
 * cond)`): the thread keeps its CPU, costs no traffic while its copy of the
 * line is valid, and re-reads the line after each write to it (noticed at the
 * end of its current pause). Each wait is a condition on the line (TTAS and
 * the qspinlock's head: the lock word is taken; an MCS waiter: its node is
 * not head yet); unless the fabric is `detailed` the spinner waits in the
 * line's herd (docs/model.md 2b): re-read by the fabric after each write,
 * resumed when the wait is over.
 */

export type SpinLockKind = 'tas' | 'ttas' | 'ticket' | 'ticket-split' | 'qspinlock';

/** What an `AtomicCall` does once its thread holds the line exclusively. */
interface AtomicStep {
  readonly line: CacheLine;
  /** The write, done with the line held (a release: the flag cleared and published). */
  afterAtomic(t: SimThread): void;
}

/**
 * One atomic on a lock's line and the write it makes, as a state machine
 * (CallMachine): `if (coh.rmw(t, line)) yield; step.afterAtomic(t);`. A
 * release of every exchange lock and of the qspinlock is this. One per
 * thread and lock (`atomicCall`), reused.
 */
class AtomicCall extends CallMachine {
  private t: SimThread | null = null;
  private rmwDone = false;
  constructor(private readonly coh: CoherenceFabric, private readonly step: AtomicStep) {
    super();
  }
  start(t: SimThread): this {
    this.t = t;
    this.rmwDone = false;
    return this;
  }
  next(): IteratorResult<Call | void, unknown> {
    const t = this.t!;
    if (!this.rmwDone) {
      this.rmwDone = true;
      if (this.coh.rmw(t, this.step.line)) return WAIT;
    }
    this.t = null;
    this.step.afterAtomic(t);
    return DONE;
  }
}

/** Thread `t`'s AtomicCall for `step`, kept in `calls` by thread id (made at its first use). */
function atomicCall(calls: AtomicCall[], coh: CoherenceFabric, step: AtomicStep, t: SimThread): AtomicCall {
  let c = calls[t.id];
  if (c === undefined) c = calls[t.id] = new AtomicCall(coh, step);
  return c.start(t);
}

/** A lock that is one flag taken by an atomic exchange; TAS and TTAS differ only in how they wait. */
abstract class ExchangeLock implements SpinLock, SpinCondition, AtomicStep {
  held = false;
  /** A spinner in the line's herd waits while the lock is taken. */
  waiting(): boolean {
    return this.held;
  }
  readonly line: CacheLine;
  constructor(readonly name: string, protected readonly coh: CoherenceFabric, line?: CacheLine) {
    this.line = line ?? coh.newLine(name);
  }

  abstract acquire(t: SimThread): Steps;

  /** The exchange, once the line is held exclusively: set the flag; true if it was free (we own the lock). */
  protected exchange(t: SimThread): boolean {
    const was = this.held;
    this.held = true;
    this.coh.publish(t, this.line);
    return !was;
  }

  /** A store of 0, which needs the line exclusively like any write (an AtomicCall). */
  release(t: SimThread): Call {
    return atomicCall(this.releases, this.coh, this, t);
  }
  private readonly releases: AtomicCall[] = [];
  afterAtomic(t: SimThread): void {
    this.held = false;
    this.coh.publish(t, this.line);
  }
}

/**
 * Test-and-set with pause: every attempt is an atomic exchange, so every
 * waiter keeps asking for the line exclusively, pausing between attempts.
 */
export class TasLock extends ExchangeLock {
  *acquire(t: SimThread): Steps {
    for (;;) {
      if (this.coh.rmw(t, this.line)) yield;
      if (this.exchange(t)) return;
      t.work(this.coh.pauseNs);
      yield;
    }
  }
}

/**
 * Test-and-test-and-set (the blog's pause_bench and path_init's loop): spin
 * reading the line from the local cache while it is taken, then try the
 * atomic exchange. Waiters generate traffic only when the line changes: after
 * each release every waiter re-reads it and those who saw it free race for it.
 */
export class TtasLock extends ExchangeLock {
  *acquire(t: SimThread): Steps {
    for (;;) {
      if (this.coh.load(t, this.line)) yield;
      yield this.coh.spinWhile(t, this.line, this);
      if (this.coh.rmw(t, this.line)) yield;
      if (this.exchange(t)) return;
    }
  }
}

/**
 * Ticket lock (Linux before 4.2): take a ticket with an atomic add, spin
 * reading `serving` until it is yours. Every release invalidates every waiter's
 * copy and all of them re-read; the next owner is wherever it happens to be in
 * the home's queue, so the handoff grows with the number of waiters
 * (Boyd-Wickizer et al. 2012).
 */
export class TicketLock implements SpinLock {
  private next = 0;
  private serving = 0;
  /** Holds `serving` (and `next`, unless split). */
  readonly line: CacheLine;
  /** Holds `next`. Linux packs both in one word; `split` puts `next` on its own line. */
  private readonly nextLine: CacheLine;
  constructor(
    readonly name: string,
    private readonly coh: CoherenceFabric,
    split = false,
    line?: CacheLine,
  ) {
    this.line = line ?? coh.newLine(name);
    this.nextLine = split ? coh.newLine(`${name}.next`) : this.line;
  }

  get held(): boolean {
    return this.next !== this.serving;
  }

  *acquire(t: SimThread): Steps {
    if (this.coh.rmw(t, this.nextLine)) yield;
    const mine = this.next++;
    this.coh.publish(t, this.nextLine);
    if (this.nextLine !== this.line) {
      if (this.coh.load(t, this.line)) yield;
    }
    while (this.serving !== mine) {
      this.coh.watch(t, this.line);
      yield;
      if (this.coh.load(t, this.line)) yield;
    }
  }

  *release(t: SimThread): Steps {
    if (this.coh.rmw(t, this.line)) yield;
    this.serving++;
    this.coh.publish(t, this.line);
  }
}

/**
 * Queued spinlock (Linux qspinlock since 4.2, MCS-based): one waiter spins on
 * the lock word; the others queue and each spins on its own per-CPU node line,
 * which only its predecessor writes. A handoff moves the lock line to the head
 * waiter and one node line to the next in queue: constant traffic, whatever
 * the number of waiters.
 */
/** A qspinlock waiter's MCS node: its own line, and whether it has been made queue head (what the waiter spins on). */
class McsNode implements SpinCondition {
  head = false;
  constructor(readonly line: CacheLine) {}
  waiting(): boolean {
    return !this.head;
  }
}

/**
 * A qspinlock acquire as a state machine (CallMachine), one per thread and
 * lock: the fast path (one atomic on the lock word) in its states, the slow
 * path (`QueuedSpinLock.acquireSlow`, a generator) called from it.
 */
class QueuedAcquire extends CallMachine {
  private t: SimThread | null = null;
  /** 0: the atomic to issue; 1: the atomic done, try the fast path; 2: the slow path returned. */
  private state = 0;
  private readonly call: IteratorYieldResult<Call | void> = { done: false, value: undefined };
  constructor(private readonly lock: QueuedSpinLock) {
    super();
  }
  start(t: SimThread): this {
    this.t = t;
    this.state = 0;
    return this;
  }
  next(): IteratorResult<Call | void, unknown> {
    const t = this.t!, lock = this.lock;
    if (this.state === 0) {
      this.state = 1;
      if (lock.coh.rmw(t, lock.line)) return WAIT;
    }
    if (this.state === 1 && !lock.tryFast(t)) {
      this.state = 2;
      this.call.value = lock.acquireSlow(t);
      return this.call;
    }
    this.t = null;
    this.call.value = undefined;
    return DONE;
  }
}

export class QueuedSpinLock implements SpinLock, SpinCondition, AtomicStep {
  held = false;
  readonly line: CacheLine;
  private readonly queue: SimThread[] = [];
  private queueHead = 0;
  /** Per waiting thread: its MCS node line and whether it has been made queue head. */
  private readonly nodes = new Map<SimThread, McsNode>();
  constructor(readonly name: string, readonly coh: CoherenceFabric, line?: CacheLine) {
    this.line = line ?? coh.newLine(name);
  }

  private node(t: SimThread) {
    let n = this.nodes.get(t);
    if (!n) {
      n = new McsNode(this.coh.newLine(`${this.name}.mcs.${t.name}`));
      this.nodes.set(t, n);
    }
    return n;
  }

  /** Fast path (QueuedAcquire): cmpxchg on the lock word; else `acquireSlow`. */
  acquire(t: SimThread): Call {
    let c = this.acquires[t.id];
    if (c === undefined) c = this.acquires[t.id] = new QueuedAcquire(this);
    return c.start(t);
  }
  private readonly acquires: QueuedAcquire[] = [];

  /** The fast path's cmpxchg, the line held: takes the free lock if nobody queues; false if it must queue. */
  tryFast(t: SimThread): boolean {
    if (!this.held && this.queue.length === this.queueHead) {
      this.held = true;
      this.coh.publish(t, this.line);
      return true;
    }
    return false;
  }

  /** The slow path, after the fast path's cmpxchg failed. */
  *acquireSlow(t: SimThread): Steps {
    // Slow path: xchg the tail (same lock word) to join the queue.
    const me = this.node(t);
    me.head = this.queue.length === this.queueHead;
    this.queue.push(t);
    this.coh.publish(t, this.line);
    if (!me.head) {
      // Link into the predecessor's node (a write to its line), then spin on our own node.
      const pred = this.node(this.queue[this.queue.length - 2]);
      if (this.coh.rmw(t, pred.line)) yield;
      if (this.coh.load(t, me.line)) yield;
      yield this.coh.spinWhile(t, me.line, me);
    }
    // Queue head: spin on the lock word until the owner releases, then take it.
    for (;;) {
      if (this.coh.load(t, this.line)) yield;
      yield this.coh.spinWhile(t, this.line, this);
      if (this.coh.rmw(t, this.line)) yield;
      if (!this.held) break;
    }
    this.held = true;
    this.queueHead++;
    this.coh.publish(t, this.line);
    if (this.queueHead < this.queue.length) {
      // Pass queue headship: write the successor's node.
      const succ = this.node(this.queue[this.queueHead]);
      if (this.coh.rmw(t, succ.line)) yield;
      succ.head = true;
      this.coh.publish(t, succ.line);
    }
    if (this.queueHead > 256 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }

  /** A store of 0 to the lock word (an AtomicCall). */
  release(t: SimThread): Call {
    return atomicCall(this.releases, this.coh, this, t);
  }
  private readonly releases: AtomicCall[] = [];
  afterAtomic(t: SimThread): void {
    this.held = false;
    this.coh.publish(t, this.line);
  }

  /** The queue head in the line's herd waits while the lock word is taken. */
  waiting(): boolean {
    return this.held;
  }
}

/**
 * `line`: an existing line for the lock word to live in, shared with other data
 * (a seqlock's spinlock and its sequence counter share one line, as in Linux's
 * `seqlock_t`); by default the lock gets a line of its own.
 */
export function makeSpinLock(kind: SpinLockKind, name: string, coh: CoherenceFabric, line?: CacheLine): SpinLock {
  switch (kind) {
    case 'tas':
      return new TasLock(name, coh, line);
    case 'ttas':
      return new TtasLock(name, coh, line);
    case 'ticket':
      return new TicketLock(name, coh, false, line);
    case 'ticket-split':
      return new TicketLock(name, coh, true, line);
    case 'qspinlock':
      return new QueuedSpinLock(name, coh, line);
  }
}
