/**
 * Seeded random streams, one per entity.
 *
 * Each thread, lock or generator asks for its own stream by a stable name, so
 * adding a thread never changes the draws of the others (a shared generator
 * would shift every later draw). Streams are seedrandom's Alea generator,
 * seeded by `${seed}/${name}`: seedrandom seeds it (Baagoe's Mash), and the
 * stream steps Alea's state itself, with the same arithmetic as seedrandom's
 * `next` (lib/alea.js), so the draws are the same numbers without a closure
 * call per draw (test/engine.test.ts compares the two).
 */
import seedrandom from 'seedrandom';

export class RandomStream {
  // Alea's state (seedrandom's `{c, s0, s1, s2}`): c an integer carry, s0-s2 fractions.
  private c = 0;
  private s0 = 0.5;
  private s1 = 0.5;
  private s2 = 0.5;
  constructor(seed: string) {
    const st = (seedrandom.alea(seed, { state: true }) as unknown as { state(): { c: number; s0: number; s1: number; s2: number } }).state();
    this.c = st.c;
    this.s0 = st.s0;
    this.s1 = st.s1;
    this.s2 = st.s2;
  }
  /** Alea's step (seedrandom lib/alea.js `next`), in [0, 1). */
  private next(): number {
    const t = 2091639 * this.s0 + this.c * 2.3283064365386963e-10; // 2^-32
    this.s0 = this.s1;
    this.s1 = this.s2;
    return (this.s2 = t - (this.c = t | 0));
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
