/**
 * Mutual-exclusion spinlocks. Each is a value in one cache line plus a policy
 * for touching it; the cost of a handoff is whatever the fabric charges for
 * the traffic the policy generates.
 *
 * Bodies are generator functions: a primitive (`coh.load`, `coh.rmw`,
 * `coh.watch`) arranges the thread's next wake, and the body yields
 * (`coh.load`/`coh.rmw` only on a miss: a hit goes on at once).
 */
import type { CacheLine, CoherenceFabric, SpinCondition, StoreWrite } from '../hardware/coherence.ts';
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

/**
 * A plain store to a lock's line, as a state machine: `if (coh.store(t,
 * write)) yield;` (the thread waits only for an earlier store of its own).
 * A spinlock's release is this (`smp_store_release`, a `mov` on x86). One
 * per thread and lock (`storeCall`), reused.
 */
class StoreCall extends CallMachine {
  private issued = false;
  constructor(private readonly coh: CoherenceFabric, private readonly write: StoreWrite) {
    super();
  }
  start(t: SimThread): this {
    this.t = t;
    this.issued = false;
    return this;
  }
  next(): IteratorResult<Call | void, unknown> {
    const t = this.t!;
    if (!this.issued) {
      this.issued = true;
      if (this.coh.store(t, this.write)) return WAIT;
    }
    this.t = null;
    return DONE;
  }
}

/** Thread `t`'s StoreCall for `write`, kept in `calls` by thread id (made at its first use). */
function storeCall(calls: StoreCall[], coh: CoherenceFabric, write: StoreWrite, t: SimThread): Call {
  let c = calls[t.id];
  if (c === undefined) c = calls[t.id] = new StoreCall(coh, write);
  return c.start(t).frame;
}

/** A lock that is one flag taken by an atomic exchange; TAS and TTAS differ only in how they wait. */
abstract class ExchangeLock implements SpinLock, SpinCondition, StoreWrite {
  /** The flag as the other cores read it: a release counts once it is visible. */
  held = false;
  /**
   * The thread whose release (its store of 0) is still in its store buffer:
   * it reads the lock free (forwarding), everyone else still reads it taken
   * (x86 TSO). A spinner's re-read that arrives in that window sees the lock
   * taken, so the releasing thread, whose next exchange only waits for its
   * own store to leave the buffer, usually takes the lock again first.
   */
  protected releasing: SimThread | null = null;
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

  /** A store of 0 (a StoreCall): the thread goes on; spinners see it when the line is back. */
  release(t: SimThread): Call {
    return storeCall(this.releases, this.coh, this, t);
  }
  private readonly releases: StoreCall[] = [];
  stored(t: SimThread): void {
    this.releasing = t;
  }
  visible(): void {
    this.held = false;
    this.releasing = null;
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
      // Its own release still in the buffer reads as free: straight to the exchange (which drains it).
      if (this.releasing !== t) yield this.coh.spinWhile(t, this.line, this);
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
    this.servingWrite = {
      line: this.line,
      stored: () => {
        this.serving++;
      },
    };
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

  /** `serving++`: a plain add to memory (x86's ticket unlock had no lock prefix), so a store (see StoreCall). */
  *release(t: SimThread): Steps {
    if (this.coh.store(t, this.servingWrite)) yield;
  }
  private readonly servingWrite: StoreWrite;
}

/**
 * Queued spinlock (Linux qspinlock since 4.2, MCS-based): one waiter spins on
 * the lock word; the others queue and each spins on its own per-CPU node line,
 * which only its predecessor writes. A handoff moves the lock line to the head
 * waiter and one node line to the next in queue: constant traffic, whatever
 * the number of waiters.
 */
/** A qspinlock waiter's MCS node: its own line, and whether it has been made queue head (what the waiter spins on). */
export class McsNode implements SpinCondition {
  head = false;
  constructor(readonly line: CacheLine) {}
  waiting(): boolean {
    return !this.head;
  }
}

/** States of a QueuedAcquire, named by what has just happened. */
const enum Q {
  /** Nothing yet: the fast path's cmpxchg on the lock word. */
  Start,
  /** The cmpxchg's line is held: take the free lock, or queue. */
  FastTried,
  /** Queued behind a predecessor: its node line written (the link). */
  Linked,
  /** Our own node line read: spin on it until made queue head. */
  NodeRead,
  /** Queue head: read the lock word. */
  Head,
  /** The lock word read: spin while it is taken. */
  WordRead,
  /** The lock looked free: the atomic on the lock word. */
  Spun,
  /** The atomic done: take the lock if it is still free, else back to Head. */
  Taken,
  /** The successor's node line held: make it queue head. */
  SuccessorHeld,
}

/**
 * A qspinlock acquire as a state machine (CallMachine), one per thread and
 * lock; the same steps, in the same order, as the generator it replaced
 * (test/callMachines.test.ts runs that generator as the reference):
 *
 *     if (rmw(line)) yield; if (tryFast) return;             // fast path
 *     me = joinQueue(t);                                      // xchg the tail
 *     if (!me.head) { if (rmw(pred.line)) yield; if (load(me.line)) yield; yield spinWhile(me.line, me); }
 *     for (;;) { if (load(line)) yield; yield spinWhile(line, lock); if (rmw(line)) yield; if (!held) break; }
 *     succ = takeAsHead(t); if (succ) { if (rmw(succ.line)) yield; passHead(t, succ); } compact();
 *
 * A spin-wait whose condition is already over is not called (it would
 * return at once, doing nothing).
 */
class QueuedAcquire extends CallMachine {
  private me: McsNode | null = null;
  private succ: McsNode | null = null;
  constructor(private readonly lock: QueuedSpinLock) {
    super();
  }
  start(t: SimThread): this {
    this.t = t;
    this.state = Q.Start;
    return this;
  }
  next(): IteratorResult<Call | void, unknown> {
    const t = this.t!, lock = this.lock, coh = lock.coh;
    this.call.value = undefined;
    for (;;) {
      switch (this.state) {
        case Q.Start:
          this.state = Q.FastTried;
          if (coh.rmw(t, lock.line)) return WAIT;
          break;
        case Q.FastTried: {
          if (lock.tryFast(t)) return this.done();
          // Slow path: xchg the tail (same lock word) to join the queue.
          const me = (this.me = lock.joinQueue(t));
          if (me.head) {
            this.state = Q.Head;
            break;
          }
          // Link into the predecessor's node (a write to its line), then spin on our own node.
          this.state = Q.Linked;
          if (coh.rmw(t, lock.predecessor().line)) return WAIT;
          break;
        }
        case Q.Linked:
          this.state = Q.NodeRead;
          if (coh.load(t, this.me!.line)) return WAIT;
          break;
        case Q.NodeRead:
          this.state = Q.Head;
          if (this.me!.waiting()) {
            this.call.value = coh.spinWhile(t, this.me!.line, this.me!);
            return this.call;
          }
          break;
        case Q.Head:
          // Queue head: spin on the lock word until the owner releases, then take it.
          this.state = Q.WordRead;
          if (coh.load(t, lock.line)) return WAIT;
          break;
        case Q.WordRead:
          this.state = Q.Spun;
          if (lock.waiting()) {
            this.call.value = coh.spinWhile(t, lock.line, lock);
            return this.call;
          }
          break;
        case Q.Spun:
          this.state = Q.Taken;
          if (coh.rmw(t, lock.line)) return WAIT;
          break;
        case Q.Taken: {
          if (lock.held) {
            this.state = Q.Head;
            break;
          }
          const succ = (this.succ = lock.takeAsHead(t));
          if (succ === null) return this.done();
          // Pass queue headship: write the successor's node.
          this.state = Q.SuccessorHeld;
          if (coh.rmw(t, succ.line)) return WAIT;
          break;
        }
        default:
          lock.passHead(t, this.succ!);
          return this.done();
      }
    }
  }
  private done(): IteratorResult<Call | void, unknown> {
    if (this.me !== null || this.succ !== null) this.lock.compact();
    this.t = this.me = this.succ = null;
    return DONE;
  }
}

export class QueuedSpinLock implements SpinLock, SpinCondition, StoreWrite {
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
    return c.start(t).frame;
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

  /** The slow path's xchg of the tail: `t` joins the waiters' queue (queue head if nobody is ahead). */
  joinQueue(t: SimThread): McsNode {
    const me = this.node(t);
    me.head = this.queue.length === this.queueHead;
    this.queue.push(t);
    this.coh.publish(t, this.line);
    return me;
  }

  /** The node of the waiter queued just before the last one (the one that joined last links into it). */
  predecessor(): McsNode {
    return this.node(this.queue[this.queue.length - 2]);
  }

  /** The queue head took the lock (the line held): its successor's node, or null if nobody waits behind it. */
  takeAsHead(t: SimThread): McsNode | null {
    this.held = true;
    this.queueHead++;
    this.coh.publish(t, this.line);
    return this.queueHead < this.queue.length ? this.node(this.queue[this.queueHead]) : null;
  }

  /** Make `succ` queue head (its node line held). */
  passHead(t: SimThread, succ: McsNode): void {
    succ.head = true;
    this.coh.publish(t, succ.line);
  }

  /** Drop the queue's served entries once they are most of it. */
  compact(): void {
    if (this.queueHead > 256 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }

  /** A store of 0 to the lock word (`smp_store_release`; a StoreCall). */
  release(t: SimThread): Call {
    return storeCall(this.releases, this.coh, this, t);
  }
  private readonly releases: StoreCall[] = [];
  stored(): void {
    this.held = false;
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
