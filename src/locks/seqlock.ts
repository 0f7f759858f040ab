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
import type { CacheLine, CoherenceFabric, SpinCondition } from '../hardware/coherence.ts';
import type { SimThread } from '../cpu/thread.ts';
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

  /** `write_seqlock`: take the spinlock, then make the sequence odd. */
  *writeLock(t: SimThread): Steps {
    yield this.lock.acquire(t);
    const since = t.localNow;
    if (this.coh.rmw(t, this.line)) yield;
    this.lastSequenceWriteNs = t.localNow - since;
    this.sequence++;
    this.stats.writerAcquisitions++;
    this.line.pressure?.writerEntered(t.localNow);
    this.coh.publish(t, this.line);
  }

  /** `write_sequnlock`: make the sequence even again, then release the spinlock. */
  *writeUnlock(t: SimThread): Steps {
    if (this.coh.rmw(t, this.line)) yield;
    this.sequence++;
    this.line.pressure?.writerLeft(t.localNow);
    this.coh.publish(t, this.line);
    yield this.lock.release(t);
  }

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
   * One flat loop, not readBegin + readRetry: every path walk is one, and each
   * generator level costs on every resume.
   */
  *read(t: SimThread, workNs: number, spinning = -1, reading = -1): Steps<number> {
    const coh = this.coh, line = this.line, stats = this.stats;
    for (let retries = 0; ; retries++) {
      if (spinning >= 0) t.doing(spinning);
      stats.readerBegins++;
      if (coh.load(t, line)) yield;
      if (this.writing) {
        stats.readerSpins++;
        const since = t.localNow;
        // In the line's herd: the fabric re-reads the line for this reader
        // after each write and resumes it when the sequence is even.
        yield coh.spinWhile(t, line, this);
        stats.readerSpinNs += t.localNow - since;
      }
      const seq = this.sequence;
      if (reading >= 0) t.doing(reading);
      if (workNs > 0) {
        t.work(workNs);
        yield;
      }
      if (coh.load(t, line)) yield;
      if (this.sequence === seq) return retries;
      stats.readerRetries++;
    }
  }

  /** Spin on the line until the sequence is even (the rest of read_seqbegin). */
  private *spinWhileWriting(t: SimThread): Steps {
    this.stats.readerSpins++;
    const since = t.localNow;
    yield this.coh.spinWhile(t, this.line, this);
    this.stats.readerSpinNs += t.localNow - since;
  }
}
