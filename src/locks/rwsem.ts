/**
 * Linux `rw_semaphore` (kernel/locking/rwsem.c, 6.x), the kind of lock
 * `namespace_sem` is: a sleeping reader-writer lock whose state is one count
 * word (writer-locked bit, reader count, waiters flag) in one cache line.
 *
 * What is modelled, as in 6.x:
 *  - Fast paths are one atomic on the count line: `down_read` adds a reader
 *    unless a writer holds it or anyone waits; `down_write` is a cmpxchg from
 *    "free, nobody waiting"; `up_*` is one atomic, plus a wake-up when the
 *    waiters flag is set.
 *  - Writer slow path, optimistic spinning (`rwsem_optimistic_spin`): only one
 *    writer spins on the count line at a time (the osq); the other would-be
 *    spinners queue FIFO, each spinning on its own node line, as in the MCS
 *    osq_lock. The head spinner keeps spinning while the owner is a writer
 *    running on a CPU, or while readers own the lock for at most the 6.x
 *    reader threshold `(20 + min(readers, 30)) / 2` us (`rwsem_rspin_threshold`);
 *    it tries to take the lock each time the line changes.
 *  - Then the writer (and any reader that found a writer or waiters; 6.x
 *    readers do not spin) takes `wait_lock`, joins the FIFO wait list, sets the
 *    waiters flag and sleeps, releasing its CPU.
 *  - Release with waiters (`rwsem_mark_wake`, RWSEM_WAKE_ANY): a writer at the
 *    head is woken alone; if a reader is at the head, every reader in the list
 *    is woken (up to MAX_READERS_WAKEUP = 256), skipping the writers between.
 *    Woken readers' waiter nodes are written under `wait_lock`, and the wake-ups
 *    are issued after it is released (wake_q).
 *
 * Simplifications (each a choice, not an oversight):
 *  - Direct handoff: the lock is granted to the woken waiter(s) at the instant
 *    of the release, so a woken waiter owns the lock when it runs and nobody
 *    can steal it in between. 6.x grants readers like that, but a woken writer
 *    re-tries the cmpxchg itself and may lose it to a spinner or a reader
 *    stealing the lock, until RWSEM_FLAG_HANDOFF is set after 4 ms of waiting.
 *    Here the wait list is strictly FIFO among sleepers and stealing never
 *    happens while anyone sleeps; spinners only win against the fast paths.
 *  - A spinner notices its owner leaving the CPU, or need_resched on its
 *    own, at its next owner check (`ownerCheckNs`), not within one `pause`;
 *    the checks cost no event: the owner's thread and the scheduler tell the
 *    spinner (src/cpu/thread.ts `watchLeaveCpu`/`requestResched`), which
 *    acts at the check that follows. As in 6.x a spin on a running writer
 *    has no time limit; `spinLimitNs` (default none) caps a whole spin when
 *    set. Would-be spinners waiting in the osq count that time too and leave
 *    the queue when it runs out (osq_lock's unqueue).
 *  - Reader optimistic lock stealing (5.11+) is modelled in 'steal' mode: a
 *    reader whose fast path failed only because sleepers wait takes the free
 *    lock. Its wake-up of the readers queued behind it (when the first
 *    waiter is a reader) is not: the release that follows wakes them.
 *  - need_resched(), RT tasks and the NONSPINNABLE owner bits of 6.x are not
 *    modelled.
 *  - `wait_lock` is a spinlock on its own line by default; in the kernel the
 *    whole rw_semaphore (count, owner, osq, wait_lock, list head: 40 bytes on
 *    x86-64) usually shares one line: `waitLockOnCountLine` models that.
 */
import type { EventTarget } from '../engine/simulator.ts';
import type { CacheLine, CoherenceFabric } from '../hardware/coherence.ts';
import { CallMachine, DONE, WAIT, type Call, type SimThread, type SpinInterrupt } from '../cpu/thread.ts';
import { makeSpinLock, type SpinLock, type SpinLockKind, type Steps } from './spinlock.ts';

export type RwMode = 'read' | 'write';

export interface RwSemParams {
  /** Whether writers spin optimistically before sleeping (CONFIG_RWSEM_SPIN_ON_OWNER). */
  optimisticSpin: boolean;
  /** Longest a writer spins (in the osq queue and on the count line together), ns; Infinity: no cap beyond the kernel's own exits. */
  spinLimitNs: number;
  /** The kind of spinlock `wait_lock` is (a raw_spinlock_t: qspinlock in Linux). */
  waitLockKind: SpinLockKind;
  /** Put `wait_lock` in the count line, as the kernel's struct layout does. */
  waitLockOnCountLine: boolean;
  /**
   * How often a spinning writer re-checks whether the owner still runs (and
   * need_resched), ns. A modelling choice kept from before issue 14: the
   * kernel re-checks every iteration; the checks cost no event (the owner and
   * the scheduler tell the spinner, which acts at its next check).
   */
  ownerCheckNs: number;
  /** CPU work the waker does per task it wakes (try_to_wake_up), ns; from the kernel model. */
  wakeWorkNs: number;
  /**
   * How a release passes the lock to a sleeping writer. 'steal' (6.x): the
   * writer is woken but not granted the lock, so a spinning writer may take it
   * first; a writer that has waited `handoffAfterNs` sets RWSEM_FLAG_HANDOFF and
   * the next release grants it directly. 'direct': every release grants the
   * head waiter (strict FIFO, a wake-up on every handoff).
   */
  handoff: 'steal' | 'direct';
  handoffAfterNs: number;
}

export const defaultRwSemParams: RwSemParams = {
  optimisticSpin: true,
  // No cap of its own: 6.x spins on a writer owner while it runs and until
  // need_resched (rwsem_spin_on_owner), and on reader owners for the
  // rwsem_rspin_threshold the spin loop applies by itself. Until 2026-12-01
  // this was 25 us for every owner, which put a writer to sleep behind a
  // running owner mid-walk and left its CPU idle (docs/validation.md,
  // "Sixteenth session").
  spinLimitNs: Infinity,
  ownerCheckNs: 1_000,
  waitLockKind: 'qspinlock',
  waitLockOnCountLine: false,
  wakeWorkNs: 0,
  handoff: 'steal',
  // RWSEM_WAIT_TIMEOUT: 4 ms (DIV_ROUND_UP(HZ, 250) jiffies).
  handoffAfterNs: 4_000_000,
};

/** 6.x batch limit on readers woken by one release. */
const MAX_READERS_WAKEUP = 256;

export interface RwSemStats {
  acquisitions: { read: number; write: number };
  /** Acquisitions that took the one-atomic fast path. */
  fastPath: { read: number; write: number };
  /** Writers that entered optimistic spinning. */
  spins: number;
  /** Writers that got the lock by spinning. */
  spinAcquisitions: number;
  /** Time writers spent in optimistic spinning (osq and count line), ns. */
  spinNs: number;
  /** Waiters that slept on the wait list. */
  sleeps: { read: number; write: number };
  /** Total time from calling down_* to holding the lock, ns. */
  waitNs: { read: number; write: number };
}

export interface Waiter {
  t: SimThread;
  mode: RwMode;
  /** The lock was handed to this waiter (waiter->task = NULL in the kernel). */
  granted: boolean;
  /** Woken without the lock ('steal' handoff): it must try to take it itself. */
  wokenToTry: boolean;
  /** When it started waiting (for the handoff timeout). */
  since: number;
  /** The thread has called sleep() and needs a wake(). */
  sleeping: boolean;
  /** Its rwsem_waiter lives on its own stack: a line of its own. */
  line: CacheLine;
}

interface OsqNode {
  t: SimThread;
  line: CacheLine;
  head: boolean;
  /** Gave up waiting in the queue (spin budget spent). */
  left: boolean;
}

/**
 * Wakes a spinner at a deadline, or when the line it watches changes, or when
 * something else it watches happens first: the lock's owner leaving its CPU,
 * or need_resched on its own CPU. Those two are noticed within one `pause`,
 * like the kernel's loops that re-check them on every iteration, and cost an
 * event only when they happen (not a timer per check).
 * One per thread; `epoch` voids timers set for an earlier wait.
 */
class SpinDeadline implements EventTarget, SpinInterrupt {
  epoch = 0;
  private line: CacheLine | null = null;
  private deadlineAt = 0;
  /** Time of the last timer scheduled and not yet fired (-1: none): a re-arm at the same deadline reuses it. */
  private timerAt = -1;
  private checkNs = 1;
  private armedAt = 0;
  constructor(private readonly t: SimThread) {}

  /** Watch `line` until `at`; with `owner`, also until the owner leaves its CPU (noticed at the next check, every `checkNs`). */
  arm(coh: CoherenceFabric, line: CacheLine, at: number, owner: SimThread | null, checkNs: number): void {
    this.epoch++;
    this.line = line;
    this.checkNs = checkNs;
    const sim = this.t.sim;
    this.armedAt = sim.now;
    this.deadlineAt = Math.max(at, sim.now);
    coh.watch(this.t, line);
    this.t.spinInterrupt = this;
    owner?.watchLeaveCpu(this);
    // No timer for a spin without a deadline (it ends on a line change, the owner leaving, need_resched).
    if (this.deadlineAt !== Infinity && this.timerAt !== this.deadlineAt) {
      this.timerAt = this.deadlineAt;
      sim.scheduleAt(this.deadlineAt, this, 0);
    }
  }

  /** The wait ended (the thread runs again): later interrupts and timers are void. */
  disarm(): void {
    this.line = null;
    this.t.spinInterrupt = null;
  }

  /**
   * The owner left its CPU, or need_resched was set: the spinner notices at
   * its next owner check, `checkNs` after the wait began and every `checkNs`
   * since (what a timer per check gave, without the timers).
   */
  interrupt(): void {
    if (!this.line) return;
    const now = this.t.sim.now;
    const checks = Math.max(1, Math.ceil((now - this.armedAt) / this.checkNs));
    this.t.sim.scheduleAt(Math.min(this.armedAt + checks * this.checkNs, Math.max(this.deadlineAt, now)), this, this.epoch);
  }

  /** arg 0: a deadline timer (valid once the current deadline is reached, whichever wait set it); else an interrupt of wait `arg`. */
  fire(arg: number): void {
    const now = this.t.sim.now;
    if (arg === 0) {
      if (now === this.timerAt) this.timerAt = -1;
      if (!this.line || now < this.deadlineAt) return;
    } else if (arg !== this.epoch || !this.line) return;
    const w = this.line.watchers;
    const i = w.indexOf(this.t);
    this.disarm();
    // Not watching any more: a publish already removed it and scheduled its wake.
    if (i < 0) return;
    w.splice(i, 1);
    // Nothing of this event follows the thread's step (Simulator.tail).
    this.t.sim.tail = this.t;
    this.t.wake();
  }
}

export class RwSemaphore {
  /** The count word (and the owner field next to it). */
  readonly countLine: CacheLine;
  readonly waitLock: SpinLock;
  readonly params: RwSemParams;
  readonly stats: RwSemStats = {
    acquisitions: { read: 0, write: 0 },
    fastPath: { read: 0, write: 0 },
    spins: 0,
    spinAcquisitions: 0,
    spinNs: 0,
    sleeps: { read: 0, write: 0 },
    waitNs: { read: 0, write: 0 },
  };

  // Members without `private` below are also used by the rw-semaphore's call
  // machines (RwEntryCall, WakeLaterCall, QueueAndSleepCall in this file),
  // not meant for other callers.

  /** Writer holding it (the writer-locked bit plus the owner field), or null. */
  writer: SimThread | null = null;
  readers = 0;
  readonly waitList: Waiter[] = [];
  waitHead = 0;
  private readonly osq: OsqNode[] = [];
  private osqHead = 0;
  private readonly osqLines = new Map<SimThread, CacheLine>();
  readonly waiterLines = new Map<SimThread, CacheLine>();
  private readonly deadlines = new Map<SimThread, SpinDeadline>();
  /** RWSEM_FLAG_HANDOFF: the waiter the next release must grant the lock to. */
  handoffTo: Waiter | null = null;

  constructor(readonly name: string, readonly coh: CoherenceFabric, params: Partial<RwSemParams> = {}) {
    this.params = { ...defaultRwSemParams, ...params };
    this.countLine = coh.newLine(name);
    this.waitLock = this.params.waitLockOnCountLine
      ? makeSpinLock(this.params.waitLockKind, `${name}.wait_lock`, coh, this.countLine)
      : makeSpinLock(this.params.waitLockKind, `${name}.wait_lock`, coh);
  }

  /** The writer holding the lock, or null (for invariants in tests). */
  get writerOwner(): SimThread | null {
    return this.writer;
  }

  /** Readers holding the lock. */
  get readerCount(): number {
    return this.readers;
  }

  /** Threads asleep (or about to sleep) on the wait list. */
  get waiting(): number {
    return this.waitList.length - this.waitHead;
  }

  // ---- readers and writers: each a call machine (RwEntryCall), one per thread, reused ----

  /** `down_read`: a RwEntryCall (its comment has the steps). */
  downRead(t: SimThread): Call {
    return this.entry(t, Entry.DownRead);
  }

  /** `up_read`. */
  upRead(t: SimThread): Call {
    return this.entry(t, Entry.UpRead);
  }

  /** `down_write`. */
  downWrite(t: SimThread): Call {
    return this.entry(t, Entry.DownWrite);
  }

  /** `up_write`. */
  upWrite(t: SimThread): Call {
    return this.entry(t, Entry.UpWrite);
  }

  private entry(t: SimThread, kind: Entry): Call {
    let c = this.entries[t.id];
    if (c === undefined) c = this.entries[t.id] = new RwEntryCall(this);
    return c.start(t, kind).frame;
  }
  private readonly entries: RwEntryCall[] = [];

  /**
   * 6.x release with waiters ('steal' mode): the count is already released, so
   * a spinning writer can take the lock while the releaser goes for wait_lock;
   * under it, rwsem_mark_wake grants what is still free (readers) or wakes the
   * head writer to try. A waiter that has waited past the handoff timeout gets
   * the flag, and from then on is granted directly.
   */
  wakeLater(t: SimThread): Call {
    let c = this.wakeLaters[t.id];
    if (c === undefined) c = this.wakeLaters[t.id] = new WakeLaterCall(this);
    return c.start(t).frame;
  }
  private readonly wakeLaters: WakeLaterCall[] = [];

  /**
   * Under wait_lock, in `wakeLater`: rwsem_mark_wake sets the handoff flag
   * for a reader at the head that has waited too long (a writer sets it
   * itself when its own try fails); then grant what is still free.
   */
  markWake(t: SimThread): Waiter[] {
    const head = this.waiting > 0 ? this.waitList[this.waitHead] : null;
    if (head && head.mode === 'read' && this.handoffTo === null && t.localNow - head.since >= this.params.handoffAfterNs) this.handoffTo = head;
    return this.grant();
  }

  // ---- mechanics ----

  free(): boolean {
    return this.writer === null && this.readers === 0;
  }

  /**
   * A spinner may take a free lock: in 'steal' mode unless a waiter set the
   * handoff flag (rwsem_try_write_lock_unqueued ignores the waiters bit); in
   * 'direct' mode only while nobody sleeps.
   */
  private spinnerMayTake(): boolean {
    return this.params.handoff === 'steal' ? this.handoffTo === null : this.waiting === 0;
  }

  acquired(t: SimThread, mode: RwMode, start: number): void {
    this.stats.acquisitions[mode]++;
    this.stats.waitNs[mode] += t.localNow - start;
  }

  /** Whether the owner lets a writer spin: a writer on a CPU, readers, or nobody. */
  canSpin(): boolean {
    const w = this.writer;
    return w === null || this.onCpu(w);
  }

  private onCpu(w: SimThread): boolean {
    return w.cpu >= 0 && w.scheduler.threadOn(w.cpu) === w;
  }

  private deadline(t: SimThread): SpinDeadline {
    let d = this.deadlines.get(t);
    if (!d) {
      d = new SpinDeadline(t);
      this.deadlines.set(t, d);
    }
    return d;
  }

  /**
   * `rwsem_optimistic_spin`: queue in the osq, then spin on the count line
   * while the owner is spinnable; true if the lock was taken.
   */
  *optimisticSpin(t: SimThread): Steps<boolean> {
    this.stats.spins++;
    // rwsem_optimistic_spin runs with preemption off (preempt_disable).
    t.atomicDepth++;
    const since = t.localNow;
    const giveUpAt = since + this.params.spinLimitNs;
    const dl = this.deadline(t);
    const node = this.osqJoin(t);
    let taken = false;
    if (!node.head) {
      // Spin on our own node line until the predecessor makes us head.
      if (this.coh.load(t, node.line)) yield;
      // osq_lock gives up on need_resched(): someone waits for this CPU.
      while (!node.head && t.localNow < giveUpAt && !t.needResched) {
        dl.arm(this.coh, node.line, giveUpAt, null, this.params.ownerCheckNs);
        yield;
        dl.disarm();
        if (this.coh.load(t, node.line)) yield;
      }
      if (!node.head) {
        node.left = true;
        this.stats.spinNs += t.localNow - since;
        t.atomicDepth--;
        return false;
      }
    }
    let readerPhaseEnd = -1;
    for (;;) {
      if (this.coh.load(t, this.countLine)) yield;
      if (this.free() && this.spinnerMayTake()) {
        // rwsem_try_write_lock_unqueued: cmpxchg, which may lose a race.
        if (this.coh.rmw(t, this.countLine)) yield;
        if (this.free() && this.spinnerMayTake()) {
          this.writer = t;
          this.coh.publish(t, this.countLine);
          taken = true;
          break;
        }
        continue;
      }
      const now = t.localNow;
      if (now >= giveUpAt || t.needResched) break;
      let until = giveUpAt;
      const owner = this.writer;
      if (owner !== null) {
        if (!this.onCpu(owner)) break;
        readerPhaseEnd = -1;
      } else if (this.readers > 0) {
        if (readerPhaseEnd < 0) readerPhaseEnd = now + ((20 + Math.min(this.readers, 30)) * 1000) / 2;
        if (now >= readerPhaseEnd) break;
        until = Math.min(until, readerPhaseEnd);
      }
      // A new owner, or the readers leaving, is a write to the count line; the
      // owner leaving its CPU is told by the owner's thread.
      dl.arm(this.coh, this.countLine, until, owner, this.params.ownerCheckNs);
      yield;
      dl.disarm();
    }
    yield this.osqLeave(t, node);
    this.stats.spinNs += t.localNow - since;
    t.atomicDepth--;
    return taken;
  }

  private osqJoin(t: SimThread): OsqNode {
    // A fresh node per attempt (a node that left may still sit in the queue);
    // its line is the thread's per-CPU osq node, reused.
    let line = this.osqLines.get(t);
    if (!line) {
      line = this.coh.newLine(`${this.name}.osq.${t.name}`);
      this.osqLines.set(t, line);
    }
    const node: OsqNode = { t, line, head: this.osqHead === this.osq.length, left: false };
    this.osq.push(node);
    return node;
  }

  /** osq_unlock: pass headship to the next queued spinner that has not left. */
  private *osqLeave(t: SimThread, node: OsqNode): Steps {
    if (this.osq[this.osqHead] !== node) throw new Error(`${this.name}: osq head is not ${t.name}`);
    node.head = false;
    this.osqHead++;
    for (;;) {
      while (this.osqHead < this.osq.length && this.osq[this.osqHead].left) this.osqHead++;
      if (this.osqHead === this.osq.length) break;
      const next = this.osq[this.osqHead];
      if (this.coh.rmw(t, next.line)) yield;
      // It may have left while its line was on the way.
      if (next.left) continue;
      next.head = true;
      this.coh.publish(t, next.line);
      break;
    }
    if (this.osqHead > 256 && this.osqHead * 2 > this.osq.length) {
      this.osq.splice(0, this.osqHead);
      this.osqHead = 0;
    }
  }

  /**
   * Slow path of both modes: under wait_lock, join the wait list (or take the
   * lock if it became free meanwhile and nobody waits), then sleep until a
   * release hands the lock over. A QueueAndSleepCall (its comment has the steps).
   */
  queueAndSleep(t: SimThread, mode: RwMode, start: number): Call {
    let c = this.sleepers[t.id];
    if (c === undefined) c = this.sleepers[t.id] = new QueueAndSleepCall(this);
    return c.start(t, mode, start).frame;
  }
  private readonly sleepers: QueueAndSleepCall[] = [];

  /** This thread's waiter node line (its rwsem_waiter on its stack). */
  waiterLine(t: SimThread): CacheLine {
    let line = this.waiterLines.get(t);
    if (!line) {
      line = this.coh.newLine(`${this.name}.waiter.${t.name}`);
      this.waiterLines.set(t, line);
    }
    return line;
  }

  /**
   * `rwsem_mark_wake(RWSEM_WAKE_ANY)` with direct handoff, called at the instant
   * the lock became free: hand it to the head writer, or to every queued reader.
   */
  grant(): Waiter[] {
    if (!this.free() || this.waiting === 0) return [];
    const head = this.waitList[this.waitHead];
    if (this.handoffTo !== null && this.handoffTo !== head) return [];
    const woken: Waiter[] = [];
    if (head.mode === 'write') {
      if (this.params.handoff === 'steal' && this.handoffTo !== head) {
        // Wake it to try for itself; a spinner may get there first.
        // (If it has not gone to sleep yet, the flag keeps it from sleeping.)
        if (head.wokenToTry) return [];
        head.wokenToTry = true;
        return [head];
      }
      this.handoffTo = null;
      this.waitHead++;
      this.writer = head.t;
      woken.push(head);
    } else {
      const rest: Waiter[] = [];
      for (let i = this.waitHead; i < this.waitList.length; i++) {
        const w = this.waitList[i];
        if (w.mode === 'read' && woken.length < MAX_READERS_WAKEUP) woken.push(w);
        else rest.push(w);
      }
      this.waitList.length = 0;
      this.waitHead = 0;
      this.waitList.push(...rest);
      this.readers += woken.length;
      this.handoffTo = null;
    }
    for (const w of woken) w.granted = true;
    if (this.waitHead > 256 && this.waitHead * 2 > this.waitList.length) {
      this.waitList.splice(0, this.waitHead);
      this.waitHead = 0;
    }
    return woken;
  }

  /** The waker's share: write the woken waiters' nodes under wait_lock, then wake them. */
  *wakeUp(t: SimThread, woken: Waiter[], takeWaitLock = true): Steps {
    if (takeWaitLock) yield this.waitLock.acquire(t);
    for (const w of woken) {
      if (this.coh.rmw(t, w.line)) yield;
      this.coh.publish(t, w.line);
    }
    if (takeWaitLock) yield this.waitLock.release(t);
    for (const w of woken) {
      if (this.params.wakeWorkNs > 0) {
        t.work(this.params.wakeWorkNs);
        yield;
      }
      if (w.sleeping) {
        w.sleeping = false;
        w.t.wake();
      }
    }
  }
}

/** Which rw-semaphore call a RwEntryCall is. */
const enum Entry {
  DownRead,
  UpRead,
  DownWrite,
  UpWrite,
}

/**
 * `down_read`, `up_read`, `down_write`, `up_write` as one state machine
 * (CallMachine), one per thread and semaphore; the same steps as the
 * generators they replaced (test/callMachines.test.ts runs them as the
 * reference). Each: one atomic on the count line, then
 *  - down_read: the fast path (no writer, nobody waiting), else reader lock
 *    stealing in 'steal' mode (free, no handoff pending), else `queueAndSleep`;
 *  - up_read: one reader less; in 'steal' mode the last one with waiters
 *    calls `wakeLater`, in 'direct' mode it grants and calls `wakeUp`;
 *  - down_write: the fast path (free, nobody waiting), else
 *    `optimisticSpin` if the owner lets it spin, else (or if the spin
 *    failed) `queueAndSleep`;
 *  - up_write: as up_read, for the writer.
 */
class RwEntryCall extends CallMachine {
  private kind = Entry.DownRead;
  // States (`state`): 0: the atomic to issue; 1: the atomic done; 2: optimisticSpin returned; 3: the last call returned.
  private startAt = 0.5;
  constructor(private readonly sem: RwSemaphore) {
    super();
    this.startAt = 0;
  }
  start(t: SimThread, kind: Entry): this {
    this.t = t;
    this.kind = kind;
    this.state = 0;
    return this;
  }
  private calling(c: Call, next: number): IteratorYieldResult<Call | void> {
    this.state = next;
    this.call.value = c;
    return this.call;
  }
  private done(): IteratorResult<Call | void, unknown> {
    this.t = null;
    this.call.value = undefined;
    return DONE;
  }
  next(value?: unknown): IteratorResult<Call | void, unknown> {
    const t = this.t!, sem = this.sem;
    switch (this.state) {
      case 0:
        if (this.kind === Entry.DownRead || this.kind === Entry.DownWrite) this.startAt = t.localNow;
        this.state = 1;
        if (sem.coh.rmw(t, sem.countLine)) return WAIT;
      // falls through: a hit goes on at once
      case 1:
        switch (this.kind) {
          case Entry.DownRead:
            // Fast path: one atomic add of a reader bias; it fails on a writer or waiters.
            if (sem.writer === null && sem.waiting === 0) {
              sem.readers++;
              sem.coh.publish(t, sem.countLine);
              sem.stats.fastPath.read++;
              sem.acquired(t, 'read', this.startAt);
              return this.done();
            }
            // Reader optimistic lock stealing (rwsem_down_read_slowpath(), Linux
            // 5.11+): with sleepers waiting but no writer holding the lock, no
            // handoff pending and no other reader holding it, the reader keeps
            // the bias it just added and owns the lock (see the file comment).
            if (sem.params.handoff === 'steal' && sem.free() && sem.handoffTo === null) {
              sem.readers++;
              sem.coh.publish(t, sem.countLine);
              sem.acquired(t, 'read', this.startAt);
              return this.done();
            }
            return this.calling(sem.queueAndSleep(t, 'read', this.startAt), 3);
          case Entry.UpRead: {
            if (sem.readers <= 0) throw new Error(`${sem.name}: up_read by ${t.name} without readers`);
            sem.readers--;
            if (sem.params.handoff === 'steal') {
              sem.coh.publish(t, sem.countLine);
              if (sem.readers === 0 && sem.waiting > 0) return this.calling(sem.wakeLater(t), 3);
              return this.done();
            }
            const woken = sem.readers === 0 ? sem.grant() : [];
            sem.coh.publish(t, sem.countLine);
            if (woken.length > 0) return this.calling(sem.wakeUp(t, woken), 3);
            return this.done();
          }
          case Entry.DownWrite:
            // Fast path: cmpxchg(count, 0, WRITER_LOCKED).
            if (sem.free() && sem.waiting === 0) {
              sem.writer = t;
              sem.coh.publish(t, sem.countLine);
              sem.stats.fastPath.write++;
              sem.acquired(t, 'write', this.startAt);
              return this.done();
            }
            if (sem.params.optimisticSpin && sem.canSpin()) return this.calling(sem.optimisticSpin(t), 2);
            return this.calling(sem.queueAndSleep(t, 'write', this.startAt), 3);
          default: {
            if (sem.writer !== t) throw new Error(`${sem.name}: up_write by ${t.name}, owner ${sem.writer?.name ?? 'none'}`);
            sem.writer = null;
            if (sem.params.handoff === 'steal') {
              sem.coh.publish(t, sem.countLine);
              if (sem.waiting > 0) return this.calling(sem.wakeLater(t), 3);
              return this.done();
            }
            const woken = sem.grant();
            sem.coh.publish(t, sem.countLine);
            if (woken.length > 0) return this.calling(sem.wakeUp(t, woken), 3);
            return this.done();
          }
        }
      case 2:
        // optimisticSpin returned whether it took the lock.
        if (value as boolean) {
          sem.stats.spinAcquisitions++;
          sem.acquired(t, 'write', this.startAt);
          return this.done();
        }
        return this.calling(sem.queueAndSleep(t, 'write', this.startAt), 3);
      default:
        return this.done();
    }
  }
}

/**
 * `RwSemaphore.wakeLater` (the 6.x release with waiters, 'steal' mode) as a
 * state machine; the generator it replaced:
 *
 *     yield waitLock.acquire(t);
 *     const woken = markWake(t);
 *     if (woken.length > 0) { if (coh.rmw(t, countLine)) yield; coh.publish(t, countLine); }
 *     yield waitLock.release(t);
 *     if (woken.length > 0) yield wakeUp(t, woken, false);
 */
class WakeLaterCall extends CallMachine {
  // States (`state`): 0: take wait_lock; 1: held, mark the wake; 2: the count's atomic done; 3: release wait_lock; 4: released; 5: wakeUp returned.
  private woken: Waiter[] = [];
  constructor(private readonly sem: RwSemaphore) {
    super();
  }
  start(t: SimThread): this {
    this.t = t;
    this.state = 0;
    return this;
  }
  private calling(c: Call, next: number): IteratorYieldResult<Call | void> {
    this.state = next;
    this.call.value = c;
    return this.call;
  }
  next(): IteratorResult<Call | void, unknown> {
    const t = this.t!, sem = this.sem;
    this.call.value = undefined;
    for (;;) {
      switch (this.state) {
        case 0:
          return this.calling(sem.waitLock.acquire(t), 1);
        case 1:
          this.woken = sem.markWake(t);
          if (this.woken.length === 0) {
            this.state = 3;
            break;
          }
          this.state = 2;
          if (sem.coh.rmw(t, sem.countLine)) return WAIT;
          break;
        case 2:
          sem.coh.publish(t, sem.countLine);
          this.state = 3;
          break;
        case 3:
          return this.calling(sem.waitLock.release(t), 4);
        case 4:
          if (this.woken.length > 0) return this.calling(sem.wakeUp(t, this.woken, false), 5);
        // falls through: nobody to wake
        default:
          this.t = null;
          this.woken = [];
          return DONE;
      }
    }
  }
}

/** States of a QueueAndSleepCall, named by what it does next. */
const enum Qs {
  /** Take wait_lock. */
  Lock,
  /** wait_lock held: the atomic on the count (the waiters flag). */
  Atomic,
  /** The atomic done: take the lock if free with nobody waiting, else join the wait list. */
  Decide,
  /** Took the lock and released wait_lock: done. */
  Took,
  /** Joined the wait list and released wait_lock. */
  Queued,
  /** Sleep until granted or woken to try. */
  Sleep,
  /** Woken to try: the atomic on the count done. */
  Tried,
  /** Granted: read the waiter node. */
  Granted,
  /** The waiter node read (a writer also writes the owner field). */
  NodeRead,
  /** A writer's atomic on the count done: publish the owner field. */
  Owner,
}

/**
 * `RwSemaphore.queueAndSleep` as a state machine; the generator it replaced:
 *
 *     yield waitLock.acquire(t);
 *     if (coh.rmw(t, countLine)) yield;                         // RWSEM_FLAG_WAITERS
 *     if (free for `mode` && nobody waits) { take; publish; yield waitLock.release(t); acquired; return; }
 *     me = waiter(t, mode); waitList.push(me); publish; yield waitLock.release(t); sleeps[mode]++;
 *     for (;;) {
 *       while (!me.granted && !me.wokenToTry) { me.sleeping = true; t.sleep(); yield; }
 *       if (me.granted) break;
 *       me.wokenToTry = false; if (coh.rmw(t, countLine)) yield;  // rwsem_try_write_lock
 *       if (me.granted) break;
 *       if (free && (no handoff || handoff to me)) { dequeue; take; publish; acquired; return; }
 *       if (no handoff && waited past the timeout) handoffTo = me; publish;
 *     }
 *     if (coh.load(t, me.line)) yield;
 *     if (mode === 'write') { if (coh.rmw(t, countLine)) yield; publish; }
 *     acquired;
 */
class QueueAndSleepCall extends CallMachine {
  private mode: RwMode = 'read';
  private startAt = 0.5;
  private me: Waiter | null = null;
  constructor(private readonly sem: RwSemaphore) {
    super();
    this.startAt = 0;
  }
  start(t: SimThread, mode: RwMode, start: number): this {
    this.t = t;
    this.mode = mode;
    this.startAt = start;
    this.state = Qs.Lock;
    return this;
  }
  private calling(c: Call, next: Qs): IteratorYieldResult<Call | void> {
    this.state = next;
    this.call.value = c;
    return this.call;
  }
  private done(): IteratorResult<Call | void, unknown> {
    this.sem.acquired(this.t!, this.mode, this.startAt);
    this.t = null;
    this.me = null;
    return DONE;
  }
  next(): IteratorResult<Call | void, unknown> {
    const t = this.t!, sem = this.sem, coh = sem.coh, mode = this.mode;
    this.call.value = undefined;
    for (;;) {
      switch (this.state) {
        case Qs.Lock:
          return this.calling(sem.waitLock.acquire(t), Qs.Atomic);
        case Qs.Atomic:
          // Setting RWSEM_FLAG_WAITERS (and, for a reader, undoing its bias): one atomic.
          this.state = Qs.Decide;
          if (coh.rmw(t, sem.countLine)) return WAIT;
          break;
        case Qs.Decide: {
          const canTake = mode === 'read' ? sem.writer === null : sem.free();
          if (canTake && sem.waiting === 0) {
            if (mode === 'read') sem.readers++;
            else sem.writer = t;
            coh.publish(t, sem.countLine);
            return this.calling(sem.waitLock.release(t), Qs.Took);
          }
          const me: Waiter = { t, mode, granted: false, wokenToTry: false, sleeping: false, line: sem.waiterLine(t), since: this.startAt };
          this.me = me;
          sem.waitList.push(me);
          coh.publish(t, sem.countLine);
          return this.calling(sem.waitLock.release(t), Qs.Queued);
        }
        case Qs.Took:
          return this.done();
        case Qs.Queued:
          sem.stats.sleeps[mode]++;
          this.state = Qs.Sleep;
          break;
        case Qs.Sleep: {
          const me = this.me!;
          if (!me.granted && !me.wokenToTry) {
            me.sleeping = true;
            t.sleep();
            return WAIT;
          }
          if (me.granted) {
            this.state = Qs.Granted;
            break;
          }
          // Woken to try ('steal' handoff): rwsem_try_write_lock on the count.
          me.wokenToTry = false;
          this.state = Qs.Tried;
          if (coh.rmw(t, sem.countLine)) return WAIT;
          break;
        }
        case Qs.Tried: {
          const me = this.me!;
          // A release may have granted it meanwhile (the handoff flag was set for it).
          if (me.granted) {
            this.state = Qs.Granted;
            break;
          }
          if (sem.free() && (sem.handoffTo === null || sem.handoffTo === me)) {
            if (sem.waitList[sem.waitHead] !== me) throw new Error(`${sem.name}: woken writer ${t.name} is not the head waiter`);
            sem.waitHead++;
            sem.handoffTo = null;
            sem.writer = t;
            coh.publish(t, sem.countLine);
            return this.done();
          }
          // Lost it to a spinner: after waiting long enough, claim the next handoff.
          if (sem.handoffTo === null && t.localNow - this.startAt >= sem.params.handoffAfterNs) sem.handoffTo = me;
          coh.publish(t, sem.countLine);
          this.state = Qs.Sleep;
          break;
        }
        case Qs.Granted:
          // Woken: see the grant in our waiter node; a writer also sets the owner field.
          this.state = Qs.NodeRead;
          if (coh.load(t, this.me!.line)) return WAIT;
          break;
        case Qs.NodeRead:
          if (mode !== 'write') return this.done();
          this.state = Qs.Owner;
          if (coh.rmw(t, sem.countLine)) return WAIT;
          break;
        default:
          coh.publish(t, sem.countLine);
          return this.done();
      }
    }
  }
}
