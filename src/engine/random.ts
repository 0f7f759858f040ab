/**
 * Seeded random streams, one per entity.
 *
 * Each thread, lock or generator asks for its own stream by a stable name, so
 * adding a thread never changes the draws of the others (a shared generator
 * would shift every later draw). Streams are seedrandom's Alea generator,
 * seeded by `${seed}/${name}`.
 */
import seedrandom from 'seedrandom';

export class RandomStream {
  private readonly next: () => number;
  constructor(seed: string) {
    this.next = seedrandom.alea(seed);
  }
  /** Uniform in [0, 1). */
  uniform(): number {
    return this.next();
  }
  /** Uniform in [lo, hi). */
  between(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Exponential with the given mean (inverse transform; 1 - u avoids log(0)). */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }
}

export class RandomStreams {
  constructor(readonly seed: string) {}
  stream(name: string): RandomStream {
    return new RandomStream(`${this.seed}/${name}`);
  }
}
