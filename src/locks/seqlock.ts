/**
 * Linux `seqlock_t` (include/linux/seqlock.h): a spinlock that serialises
 * writers plus a sequence counter that writers make odd while they write.
 *
 * Both live in one cache line, as in the kernel's `mount_lock` (one
 * cache-line-aligned seqlock_t, fs/namespace.c): so every writer's lock
 * traffic also invalidates every reader's copy of the sequence, and every
 * reader's re-read pulls the line away from the writer. That sharing is the
 * point of the model, not a detail.
 *
 * Readers never write. `readBegin` is `read_seqbegin`: load the sequence and,
 * while it is odd, spin on the line (`path_init`'s `pause` loop in the blog's
 * disassembly): the reader keeps its CPU. `readRetry` is `read_seqretry`: a
 * sequence that moved means a writer ran during the read section and the
 * reader must start again (`__legitimize_mnt` failing under path walk).
 */
import type { CacheLine, CoherenceFabric, SpinCondition, StoreWrite } from '../hardware/coherence.ts';
import { CallMachine, DONE, WAIT, type Call, type SimThread } from '../cpu/thread.ts';
import { makeSpinLock, type SpinLock, type SpinLockKind, type Steps } from './spinlock.ts';

export interface SeqLockStats {
  /** Write sections entered. */
  writerAcquisitions: number;
  /** Read sections begun (each `readBegin`). */
  readerBegins: number;
  /** `readBegin`s that found the sequence odd and had to spin. */
  readerSpins: number;
  /** Time readers spent spinning in `readBegin` while a writer held the lock, ns. */
  readerSpinNs: number;
  /** `readRetry`s that found the sequence moved (the reader must redo its section). */
  readerRetries: number;
}

export class SeqLock implements SpinCondition {
  /** The one line holding the spinlock word and the sequence counter. */
  readonly line: CacheLine;
  /** Serialises writers; its lock word is in `line`. */
  readonly lock: SpinLock;
  /** Even: no writer inside. Odd: a writer is between writeLock and writeUnlock. */
  sequence = 0;
  readonly stats: SeqLockStats = { writerAcquisitions: 0, readerBegins: 0, readerSpins: 0, readerSpinNs: 0, readerRetries: 0 };

  /** `kind`: the writers' spinlock; Linux's spinlock_t is a qspinlock. */
  constructor(readonly name: string, private readonly coh: CoherenceFabric, kind: SpinLockKind = 'qspinlock') {
    this.line = coh.newLine(name);
    this.lock = makeSpinLock(kind, `${name}.lock`, coh, this.line);
    this.sequenceEven = {
      line: this.line,
      stored: () => {
        this.sequence++;
      },
      visible: (at: number) => {
        this.line.pressure?.writerLeft(at);
      },
    };
  }

  /** Whether a writer is inside (the sequence is odd). */
  get writing(): boolean {
    return (this.sequence & 1) === 1;
  }

  /** A reader spinning in a herd (CoherenceFabric.spinUntil) waits while a writer is inside. */
  waiting(): boolean {
    return (this.sequence & 1) === 1;
  }

  /**
   * How long the last writer's increment of the sequence took, ns: pulling
   * the line back from the readers that re-read it since the lock was
   * taken. What one more write section costs on top of its own work.
   */
  lastSequenceWriteNs = 0;

  /** `write_seqlock`: take the spinlock, then make the sequence odd (a WriteLockCall). */
  writeLock(t: SimThread): Call {
    let c = this.writeLocks[t.id];
    if (c === undefined) c = this.writeLocks[t.id] = new WriteLockCall(this, this.coh);
    return c.start(t).frame;
  }
  private readonly writeLocks: WriteLockCall[] = [];

  /** The sequence made odd, the line held exclusively (`since`: when the atomic was issued). */
  sequenceOdd(t: SimThread, since: number): void {
    this.lastSequenceWriteNs = t.localNow - since;
    this.sequence++;
    this.stats.writerAcquisitions++;
    this.line.pressure?.writerEntered(t.localNow);
    this.coh.publish(t, this.line);
  }

  /** `write_sequnlock`: make the sequence even again, then release the spinlock (a WriteUnlockCall). */
  writeUnlock(t: SimThread): Call {
    let c = this.writeUnlocks[t.id];
    if (c === undefined) c = this.writeUnlocks[t.id] = new WriteUnlockCall(this, this.coh);
    return c.start(t).frame;
  }
  private readonly writeUnlocks: WriteUnlockCall[] = [];

  /**
   * `write_seqcount_end`: the sequence made even by a plain store (an
   * increment, `smp_wmb` orders it after the section's writes); readers see it
   * when it leaves the writer's store buffer (CoherenceFabric.store), the
   * spinlock's release right behind it on the same line.
   */
  readonly sequenceEven: StoreWrite;

  /** `read_seqbegin`: spin (holding the CPU) while a writer is inside; returns the even sequence. */
  *readBegin(t: SimThread): Steps<number> {
    this.stats.readerBegins++;
    if (this.coh.load(t, this.line)) yield;
    if (this.writing) yield* this.spinWhileWriting(t);
    return this.sequence;
  }

  /** `read_seqretry`: whether the sequence moved since `seq` (the read section must be redone). */
  *readRetry(t: SimThread, seq: number): Steps<boolean> {
    if (this.coh.load(t, this.line)) yield;
    const moved = this.sequence !== seq;
    if (moved) this.stats.readerRetries++;
    return moved;
  }

  /**
   * A whole read: begin, `workNs` of reading, retry until consistent.
   * Returns how many times the section had to be redone. `spinning` and
   * `reading` label the two phases (-1: leave the thread's label alone).
   * One flat loop, not readBegin + readRetry: every path walk is one; and a
   * state machine (`ReadCall`, one per thread, reused), not a generator.
   */
  read(t: SimThread, workNs: number, spinning = -1, reading = -1): Call<number> {
    let c = this.reads[t.id];
    if (c === undefined) c = this.reads[t.id] = new ReadCall(this, this.coh);
    return c.start(t, workNs, spinning, reading).frame;
  }
  private readonly reads: ReadCall[] = [];

  /** Spin on the line until the sequence is even (the rest of read_seqbegin). */
  private *spinWhileWriting(t: SimThread): Steps {
    this.stats.readerSpins++;
    const since = t.localNow;
    yield this.coh.spinWhile(t, this.line, this);
    this.stats.readerSpinNs += t.localNow - since;
  }
}

/** `SeqLock.writeLock` as a state machine: `yield lock.acquire(t); since = t.localNow; if (coh.rmw(t, line)) yield; seq.sequenceOdd(t, since);`. */
class WriteLockCall extends CallMachine {
  // States (`state`): 0: call the spinlock's acquire; 1: it returned, issue the atomic; 2: the atomic done.
  private since = 0.5;
  constructor(private readonly seq: SeqLock, private readonly coh: CoherenceFabric) {
    super();
    this.since = 0;
  }
  start(t: SimThread): this {
    this.t = t;
    this.state = 0;
    return this;
  }
  next(): IteratorResult<Call | void, unknown> {
    const t = this.t!;
    switch (this.state) {
      case 0:
        this.state = 1;
        this.call.value = this.seq.lock.acquire(t);
        return this.call;
      case 1:
        this.call.value = undefined;
        this.since = t.localNow;
        this.state = 2;
        if (this.coh.rmw(t, this.seq.line)) return WAIT;
      // falls through: a hit goes on at once
      default:
        this.t = null;
        this.seq.sequenceOdd(t, this.since);
        return DONE;
    }
  }
}

/** `SeqLock.writeUnlock` as a state machine: `if (coh.store(t, seq.sequenceEven)) yield; yield lock.release(t);` (two stores to one line: the release waits for nothing). */
class WriteUnlockCall extends CallMachine {
  // States (`state`): 0: the sequence's store; 1: it is in the store buffer; 2: the spinlock's release returned.
  constructor(private readonly seq: SeqLock, private readonly coh: CoherenceFabric) {
    super();
  }
  start(t: SimThread): this {
    this.t = t;
    this.state = 0;
    return this;
  }
  next(): IteratorResult<Call | void, unknown> {
    const t = this.t!;
    switch (this.state) {
      case 0:
        this.state = 1;
        if (this.coh.store(t, this.seq.sequenceEven)) return WAIT;
      // falls through: the store is in the buffer (the thread waited only for an earlier store of its own)
      case 1:
        this.state = 2;
        this.call.value = this.seq.lock.release(t);
        return this.call;
      default:
        this.call.value = undefined;
        this.t = null;
        return DONE;
    }
  }
}

/** States of a ReadCall, named by what has just happened. */
const enum Read {
  /** A pass begins (read_seqbegin). */
  Begin,
  /** The sequence's line was read. */
  Loaded,
  /** The spin while a writer was inside returned. */
  Spun,
  /** The read section's work is done. */
  Worked,
  /** The sequence was read again (read_seqretry). */
  Rechecked,
}

/**
 * `SeqLock.read` as a state machine; the same steps as the generator it replaced:
 *
 *     for (retries = 0; ; retries++) {
 *       doing(spinning); readerBegins++; if (coh.load(t, line)) yield;
 *       if (writing) { readerSpins++; since = t.localNow; yield coh.spinWhile(t, line, seq); readerSpinNs += t.localNow - since; }
 *       s = sequence; doing(reading); if (workNs > 0) { t.work(workNs); yield; }
 *       if (coh.load(t, line)) yield;
 *       if (sequence === s) return retries;
 *       readerRetries++;
 *     }
 */
class ReadCall extends CallMachine<number> {
  private workNs = 0.5;
  private spinning = -1;
  private reading = -1;
  private retries = 0;
  private seen = 0;
  private since = 0.5;
  private readonly result: IteratorReturnResult<number> = { done: true, value: 0 };
  constructor(private readonly seq: SeqLock, private readonly coh: CoherenceFabric) {
    super();
    // Fractional fields stored as fractions first (see SimThread's constructor).
    this.workNs = this.since = 0;
  }
  start(t: SimThread, workNs: number, spinning: number, reading: number): this {
    this.t = t;
    this.workNs = workNs;
    this.spinning = spinning;
    this.reading = reading;
    this.retries = 0;
    this.state = Read.Begin;
    return this;
  }
  next(): IteratorResult<Call | void, number> {
    const t = this.t!, seq = this.seq, coh = this.coh, line = seq.line, stats = seq.stats;
    for (;;) {
      switch (this.state) {
        case Read.Begin:
          if (this.spinning >= 0) t.doing(this.spinning);
          stats.readerBegins++;
          this.state = Read.Loaded;
          if (coh.load(t, line)) return WAIT;
        // falls through
        case Read.Loaded:
          if (seq.writing) {
            stats.readerSpins++;
            this.since = t.localNow;
            // In the line's herd: the fabric re-reads the line for this reader
            // after each write and resumes it when the sequence is even.
            this.state = Read.Spun;
            this.call.value = coh.spinWhile(t, line, seq);
            return this.call;
          }
          this.state = Read.Worked;
          if (this.section(t)) return WAIT;
          break;
        case Read.Spun:
          this.call.value = undefined;
          stats.readerSpinNs += t.localNow - this.since;
          this.state = Read.Worked;
          if (this.section(t)) return WAIT;
          break;
        case Read.Worked:
          this.state = Read.Rechecked;
          if (coh.load(t, line)) return WAIT;
          break;
        default:
          if (seq.sequence === this.seen) {
            this.t = null;
            this.result.value = this.retries;
            return this.result;
          }
          stats.readerRetries++;
          this.retries++;
          this.state = Read.Begin;
      }
    }
  }
  /** The sequence is even: note it and start the read section's work; true if the thread waits for it. */
  private section(t: SimThread): boolean {
    this.seen = this.seq.sequence;
    if (this.reading >= 0) t.doing(this.reading);
    if (this.workNs > 0) {
      t.work(this.workNs);
      return true;
    }
    return false;
  }
}
