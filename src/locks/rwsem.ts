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
 *    acts at the check that follows; it also gives up after
 *    `spinLimitNs` in total (6.x spins on a running writer until need_resched).
 *    Would-be spinners waiting in the osq count that time too and leave the
 *    queue when it runs out (osq_lock's unqueue).
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
import type { SimThread, SpinInterrupt } from '../cpu/thread.ts';
import { makeSpinLock, type SpinLock, type SpinLockKind, type Steps } from './spinlock.ts';

export type RwMode = 'read' | 'write';

export interface RwSemParams {
  /** Whether writers spin optimistically before sleeping (CONFIG_RWSEM_SPIN_ON_OWNER). */
  optimisticSpin: boolean;
  /** Longest a writer spins (in the osq queue and on the count line together), ns. */
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
  // The 6.x cap on spinning over reader owners (rwsem_rspin_threshold: 25 us).
  spinLimitNs: 25_000,
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

interface Waiter {
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
    if (this.timerAt !== this.deadlineAt) {
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

  /** Writer holding it (the writer-locked bit plus the owner field), or null. */
  private writer: SimThread | null = null;
  private readers = 0;
  private readonly waitList: Waiter[] = [];
  private waitHead = 0;
  private readonly osq: OsqNode[] = [];
  private osqHead = 0;
  private readonly osqLines = new Map<SimThread, CacheLine>();
  private readonly waiterLines = new Map<SimThread, CacheLine>();
  private readonly deadlines = new Map<SimThread, SpinDeadline>();
  /** RWSEM_FLAG_HANDOFF: the waiter the next release must grant the lock to. */
  private handoffTo: Waiter | null = null;

  constructor(readonly name: string, private readonly coh: CoherenceFabric, params: Partial<RwSemParams> = {}) {
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

  // ---- readers ----

  *downRead(t: SimThread): Steps {
    const start = t.localNow;
    // Fast path: one atomic add of a reader bias; it fails on a writer or waiters.
    if (this.coh.rmw(t, this.countLine)) yield;
    if (this.writer === null && this.waiting === 0) {
      this.readers++;
      this.coh.publish(t, this.countLine);
      this.stats.fastPath.read++;
      this.acquired(t, 'read', start);
      return;
    }
    // Reader optimistic lock stealing (rwsem_down_read_slowpath(), Linux
    // 5.11+, "locking/rwsem: Enable reader optimistic
    // lock stealing"): with sleepers waiting but no writer holding the lock,
    // no handoff pending and no other reader holding it (the kernel queues a
    // reader when rcnt > 1 on a reader-owned lock, so a stream of readers
    // cannot starve a writer), the reader keeps the bias it just added and
    // owns the lock; the woken writer retries later. Without it, an overlay
    // mount's 50 clone_private_mount down_reads each queue behind writers
    // in a storm, where Linux takes them between the writers.
    if (this.params.handoff === 'steal' && this.free() && this.handoffTo === null) {
      this.readers++;
      this.coh.publish(t, this.countLine);
      this.acquired(t, 'read', start);
      return;
    }
    yield this.queueAndSleep(t, 'read', start);
  }

  *upRead(t: SimThread): Steps {
    if (this.coh.rmw(t, this.countLine)) yield;
    if (this.readers <= 0) throw new Error(`${this.name}: up_read by ${t.name} without readers`);
    this.readers--;
    if (this.params.handoff === 'steal') {
      this.coh.publish(t, this.countLine);
      if (this.readers === 0 && this.waiting > 0) yield this.wakeLater(t);
      return;
    }
    const woken = this.readers === 0 ? this.grant() : [];
    this.coh.publish(t, this.countLine);
    if (woken.length > 0) yield this.wakeUp(t, woken);
  }

  // ---- writers ----

  *downWrite(t: SimThread): Steps {
    const start = t.localNow;
    // Fast path: cmpxchg(count, 0, WRITER_LOCKED).
    if (this.coh.rmw(t, this.countLine)) yield;
    if (this.free() && this.waiting === 0) {
      this.writer = t;
      this.coh.publish(t, this.countLine);
      this.stats.fastPath.write++;
      this.acquired(t, 'write', start);
      return;
    }
    if (this.params.optimisticSpin && this.canSpin()) {
      if ((yield this.optimisticSpin(t)) as boolean) {
        this.stats.spinAcquisitions++;
        this.acquired(t, 'write', start);
        return;
      }
    }
    yield this.queueAndSleep(t, 'write', start);
  }

  *upWrite(t: SimThread): Steps {
    if (this.coh.rmw(t, this.countLine)) yield;
    if (this.writer !== t) throw new Error(`${this.name}: up_write by ${t.name}, owner ${this.writer?.name ?? 'none'}`);
    this.writer = null;
    if (this.params.handoff === 'steal') {
      this.coh.publish(t, this.countLine);
      if (this.waiting > 0) yield this.wakeLater(t);
      return;
    }
    const woken = this.grant();
    this.coh.publish(t, this.countLine);
    if (woken.length > 0) yield this.wakeUp(t, woken);
  }

  /**
   * 6.x release with waiters ('steal' mode): the count is already released, so
   * a spinning writer can take the lock while the releaser goes for wait_lock;
   * under it, rwsem_mark_wake grants what is still free (readers) or wakes the
   * head writer to try. A waiter that has waited past the handoff timeout gets
   * the flag, and from then on is granted directly.
   */
  private *wakeLater(t: SimThread): Steps {
    yield this.waitLock.acquire(t);
    // rwsem_mark_wake sets the handoff flag for a reader at the head that has
    // waited too long; a writer sets it itself when its own try fails.
    const head = this.waiting > 0 ? this.waitList[this.waitHead] : null;
    if (head && head.mode === 'read' && this.handoffTo === null && t.localNow - head.since >= this.params.handoffAfterNs) this.handoffTo = head;
    const woken = this.grant();
    if (woken.length > 0) {
      if (this.coh.rmw(t, this.countLine)) yield;
      this.coh.publish(t, this.countLine);
    }
    yield this.waitLock.release(t);
    if (woken.length > 0) yield this.wakeUp(t, woken, false);
  }

  // ---- mechanics ----

  private free(): boolean {
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

  private acquired(t: SimThread, mode: RwMode, start: number): void {
    this.stats.acquisitions[mode]++;
    this.stats.waitNs[mode] += t.localNow - start;
  }

  /** Whether the owner lets a writer spin: a writer on a CPU, readers, or nobody. */
  private canSpin(): boolean {
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
  private *optimisticSpin(t: SimThread): Steps<boolean> {
    this.stats.spins++;
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
   * release hands the lock over.
   */
  private *queueAndSleep(t: SimThread, mode: RwMode, start: number): Steps {
    yield this.waitLock.acquire(t);
    // Setting RWSEM_FLAG_WAITERS (and, for a reader, undoing its bias): one atomic.
    if (this.coh.rmw(t, this.countLine)) yield;
    const canTake = mode === 'read' ? this.writer === null : this.free();
    if (canTake && this.waiting === 0) {
      if (mode === 'read') this.readers++;
      else this.writer = t;
      this.coh.publish(t, this.countLine);
      yield this.waitLock.release(t);
      this.acquired(t, mode, start);
      return;
    }
    let line = this.waiterLines.get(t);
    if (!line) {
      line = this.coh.newLine(`${this.name}.waiter.${t.name}`);
      this.waiterLines.set(t, line);
    }
    const me: Waiter = { t, mode, granted: false, wokenToTry: false, sleeping: false, line, since: start };
    this.waitList.push(me);
    this.coh.publish(t, this.countLine);
    yield this.waitLock.release(t);
    this.stats.sleeps[mode]++;
    for (;;) {
      while (!me.granted && !me.wokenToTry) {
        me.sleeping = true;
        t.sleep();
        yield;
      }
      if (me.granted) break;
      // Woken to try ('steal' handoff): rwsem_try_write_lock on the count.
      me.wokenToTry = false;
      if (this.coh.rmw(t, this.countLine)) yield;
      // A release may have granted it meanwhile (the handoff flag was set for it).
      if (me.granted) break;
      if (this.free() && (this.handoffTo === null || this.handoffTo === me)) {
        if (this.waitList[this.waitHead] !== me) throw new Error(`${this.name}: woken writer ${t.name} is not the head waiter`);
        this.waitHead++;
        this.handoffTo = null;
        this.writer = t;
        this.coh.publish(t, this.countLine);
        this.acquired(t, mode, start);
        return;
      }
      // Lost it to a spinner: after waiting long enough, claim the next handoff.
      if (this.handoffTo === null && t.localNow - start >= this.params.handoffAfterNs) this.handoffTo = me;
      this.coh.publish(t, this.countLine);
    }
    // Woken: see the grant in our waiter node; a writer also sets the owner field.
    if (this.coh.load(t, me.line)) yield;
    if (mode === 'write') {
      if (this.coh.rmw(t, this.countLine)) yield;
      this.coh.publish(t, this.countLine);
    }
    this.acquired(t, mode, start);
  }

  /**
   * `rwsem_mark_wake(RWSEM_WAKE_ANY)` with direct handoff, called at the instant
   * the lock became free: hand it to the head writer, or to every queued reader.
   */
  private grant(): Waiter[] {
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
  private *wakeUp(t: SimThread, woken: Waiter[], takeWaitLock = true): Steps {
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
