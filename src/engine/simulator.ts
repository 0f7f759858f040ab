/**
 * The discrete-event kernel: one clock, one heap of pending events.
 *
 * Like SimPy's Environment, everything else (threads, cache lines, locks) is an
 * ordinary user of `schedule`. Unlike SimPy, an event allocates nothing: the heap
 * is four parallel typed arrays (time, insertion counter, argument, target index),
 * so the loop runs at tens of millions of events per second.
 *
 * Time is simulated nanoseconds in a float64 (exact integers up to 2^53 ns, about
 * 104 days). Simultaneous events fire in the order they were scheduled: the
 * insertion counter is the tie-breaker, which makes every run deterministic.
 */

/** Anything an event can be delivered to. `arg` lets one target tell its events apart. */
export interface EventTarget {
  fire(arg: number): void;
}

export class Simulator {
  /** Current simulated time, ns. */
  now = 0;
  /** Events delivered so far (for benchmarks and sanity checks). */
  eventsFired = 0;

  private size = 0;
  private counter = 0;
  private times: Float64Array;
  private order: Float64Array;
  private args: Float64Array;
  private targetIds: Int32Array;
  // Targets are interned: a target's index is stored in the heap instead of the object.
  private targets: EventTarget[] = [];
  private targetIndex = new Map<EventTarget, number>();
  private stopped = false;

  constructor(initialCapacity = 1024) {
    this.times = new Float64Array(initialCapacity);
    this.order = new Float64Array(initialCapacity);
    this.args = new Float64Array(initialCapacity);
    this.targetIds = new Int32Array(initialCapacity);
  }

  /** Number of events waiting. */
  get pending(): number {
    return this.size;
  }

  /** Deliver `target.fire(arg)` after `delay` ns (0 = later in the current instant). */
  schedule(delay: number, target: EventTarget, arg = 0): void {
    if (!(delay >= 0)) throw new RangeError(`negative or NaN delay ${delay}`);
    this.scheduleAt(this.now + delay, target, arg);
  }

  scheduleAt(time: number, target: EventTarget, arg = 0): void {
    let id = this.targetIndex.get(target);
    if (id === undefined) {
      id = this.targets.length;
      this.targets.push(target);
      this.targetIndex.set(target, id);
    }
    if (this.size === this.times.length) this.grow();
    // Sift up: move parents down until the new entry's place is found.
    let i = this.size++;
    const seq = this.counter++;
    const times = this.times, order = this.order;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = times[p];
      if (pt < time || (pt === time && order[p] < seq)) break;
      this.move(p, i);
      i = p;
    }
    times[i] = time;
    order[i] = seq;
    this.args[i] = arg;
    this.targetIds[i] = id;
  }

  /** Run until no event is left, `until` ns is reached, or `stop()` is called. */
  run(until = Infinity): void {
    this.stopped = false;
    const times = this.times;
    while (this.size > 0 && !this.stopped) {
      const t = this.times[0];
      if (t > until) break;
      const target = this.targets[this.targetIds[0]];
      const arg = this.args[0];
      this.popRoot();
      this.now = t;
      this.eventsFired++;
      target.fire(arg);
    }
    if (until !== Infinity && !this.stopped && this.now < until) this.now = until;
    void times;
  }

  /** Stop the run loop after the current event. */
  stop(): void {
    this.stopped = true;
  }

  private popRoot(): void {
    const last = --this.size;
    if (last === 0) return;
    const times = this.times, order = this.order;
    const t = times[last], s = order[last], a = this.args[last], id = this.targetIds[last];
    // Sift down the former last entry from the root.
    let i = 0;
    const half = last >> 1;
    while (i < half) {
      let c = 2 * i + 1;
      const r = c + 1;
      if (r < last && (times[r] < times[c] || (times[r] === times[c] && order[r] < order[c]))) c = r;
      if (t < times[c] || (t === times[c] && s < order[c])) break;
      this.move(c, i);
      i = c;
    }
    times[i] = t;
    order[i] = s;
    this.args[i] = a;
    this.targetIds[i] = id;
  }

  private move(from: number, to: number): void {
    this.times[to] = this.times[from];
    this.order[to] = this.order[from];
    this.args[to] = this.args[from];
    this.targetIds[to] = this.targetIds[from];
  }

  private grow(): void {
    const n = this.times.length * 2;
    const t = new Float64Array(n); t.set(this.times); this.times = t;
    const o = new Float64Array(n); o.set(this.order); this.order = o;
    const a = new Float64Array(n); a.set(this.args); this.args = a;
    const g = new Int32Array(n); g.set(this.targetIds); this.targetIds = g;
  }
}

/** Adapts a plain function to an EventTarget (for rare events; hot paths implement EventTarget). */
export function callback(fn: (arg: number) => void): EventTarget {
  return { fire: fn };
}
