/**
 * Readers of a hot line that are too many to simulate one by one.
 *
 * Every path walk on a machine reads `mount_lock`'s sequence. During a launch
 * storm that is millions of reads per second from every CPU: simulating each
 * as a thread would cost more events than the rest of the run. What those
 * readers do to the writers is what matters, and it follows from three facts:
 *  - a reader that arrives while the sequence is odd spins until it is even,
 *    holding its CPU;
 *  - every write to the line invalidates the spinners' copies, and they all
 *    re-read it: a burst of requests at the fabric right after each write;
 *  - the writer's next atomic on the line queues behind that burst (on the
 *    mesh, one TOR entry at a time; on the chiplet fabric, one request per CCX,
 *    the rest served inside each CCX).
 * So the writer's next transfer is delayed by the burst's occupancy of the
 * fabric, which the fabric computes from the number of spinners. Spinners
 * accumulate as a Poisson process of background walks during the odd period:
 * the longer writers hold the line odd, the more spinners, the longer the next
 * write waits, the longer the line stays odd. That feedback is the collapse
 * the blog describes; where it starts depends on the fabric.
 *
 * Spinning CPU time is accounted (for the share of cycles stalled on the
 * contended line), but background readers do not take CPUs from simulated
 * threads: they stand for load on the machine's other CPUs. A known limit.
 */
import type { RandomStream } from '../engine/random.ts';

export class ReaderPressure {
  /** Background readers currently spinning (arrived while the sequence was odd). */
  spinners = 0;
  /** Spinners released by the last even transition whose re-reads the next atomic still meets. */
  private released = 0;
  /** When the sequence became odd, or -1 while it is even. */
  private oddSince = -1;
  /** Up to when arrivals have been drawn. */
  private drawnUntil = 0;
  /** Sum of the spinners' arrival times (for their spin time). */
  private arrivalSum = 0;
  /** Background CPU time spent spinning, ns (statistics). */
  spinNs = 0;
  /** Background walks that had to spin. */
  spunWalks = 0;
  /** Re-read requests the bursts added at the fabric. */
  burstRequests = 0;

  constructor(
    /** Background walks per ns at time `now`. */
    readonly rate: (now: number) => number,
    private readonly rng: RandomStream,
  ) {}

  /** The sequence became odd (a writer entered). */
  writerEntered(now: number): void {
    this.oddSince = now;
    this.drawnUntil = now;
    this.spinners = 0;
    this.arrivalSum = 0;
  }

  /** The sequence became even: the spinners go on with their walks. */
  writerLeft(now: number): void {
    if (this.oddSince < 0) return;
    this.arrive(now);
    this.spinNs += this.spinners * now - this.arrivalSum;
    this.spunWalks += this.spinners;
    this.released = this.spinners;
    this.spinners = 0;
    this.arrivalSum = 0;
    this.oddSince = -1;
  }

  /**
   * Background requests an atomic on the line issued at `now` finds ahead of
   * it: the loads of the readers spinning now (they arrived during the odd
   * period, one miss each) and, once, the re-reads of those the last even
   * transition released.
   */
  requestsAhead(now: number): number {
    const n = this.spinningAt(now) + this.released;
    this.released = 0;
    this.burstRequests += n;
    return n;
  }

  /** Spinners at `now` (drawing the arrivals since the last call). */
  spinningAt(now: number): number {
    if (this.oddSince < 0) return 0;
    this.arrive(now);
    return this.spinners;
  }

  private arrive(now: number): void {
    const dt = now - this.drawnUntil;
    if (dt <= 0) return;
    const k = this.poisson(this.rate(now) * dt);
    this.spinners += k;
    // Arrivals are uniform over the interval: each spins on average from its middle.
    this.arrivalSum += k * (this.drawnUntil + now) / 2;
    this.drawnUntil = now;
  }

  private poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 30) {
      // Normal approximation (Box-Muller), rounded and kept non-negative.
      const u1 = 1 - this.rng.uniform(), u2 = this.rng.uniform();
      const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
      return Math.max(0, Math.round(mean + Math.sqrt(mean) * z));
    }
    // Knuth's product method.
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.rng.uniform();
    while (p > limit) {
      k++;
      p *= this.rng.uniform();
    }
    return k;
  }
}
