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
  /**
   * A factor of mean 1 and coefficient of variation `cv`, log-normal (always
   * positive): how much longer or shorter one run of a piece of work takes.
   * Box-Muller from two uniforms; cv 0 returns 1 without drawing.
   */
  unitLogNormal(cv: number): number {
    if (cv <= 0) return 1;
    const s2 = Math.log(1 + cv * cv);
    const z = Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
    return Math.exp(Math.sqrt(s2) * z - s2 / 2);
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
