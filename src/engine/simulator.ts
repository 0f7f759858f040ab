/**
 * The discrete-event kernel: one clock, one heap of pending events.
 *
 * Like SimPy's Environment, everything else (threads, cache lines, locks) is an
 * ordinary user of `schedule`. Unlike SimPy, an event allocates nothing:
 * pending events live in reusable slots of typed arrays (time, insertion
 * counter, argument, target) and the heap orders slot numbers, so sifting
 * moves one integer per level.
 *
 * Time is simulated nanoseconds in a float64 (exact integers up to 2^53 ns, about
 * 104 days). Simultaneous events fire in the order they were scheduled: the
 * insertion counter is the tie-breaker, which makes every run deterministic.
 */

/** Anything an event can be delivered to. `arg` lets one target tell its events apart. */
export interface EventTarget {
  fire(arg: number): void;
}

const advanceDefault = { on: true };
const tickDefault = { on: true };

export class Simulator {
  /** Current simulated time, ns. */
  now = 0;
  /** Events delivered so far (for benchmarks and sanity checks). Ticks of `every` are not events: see `ticksFired`. */
  eventsFired = 0;
  /** Ticks of the periodic target (`every`) delivered so far. */
  ticksFired = 0;

  private size = 0;
  private counter = 0;
  // Each pending event lives in a slot (time, insertion counter, argument,
  // target); the heap orders slot numbers, so sifting moves one int, not four values.
  private heap: Int32Array;
  private times: Float64Array;
  private order: Float64Array;
  /**
   * 32-bit integers (request ids, CPUs, epochs): read back from an
   * Int32Array they are small integers to V8, so a handler that stores one
   * in a field keeps that field an integer one. From a Float64Array they
   * came back as heap numbers, turned such fields (and arrays of ids) into
   * doubles mid-run and deoptimized the code built for them (about half of
   * a cold launch's deoptimizations, docs/architecture.md).
   */
  private args: Int32Array;
  private targets: (EventTarget | null)[];
  /**
   * Each pending event's `fire`, read from its target when it is scheduled.
   * The loop calls it on the target: a dozen classes of targets made
   * `target.fire(arg)` a megamorphic property load per event; read where
   * the event is scheduled (`scheduleAt` inlined into its caller), the load
   * sees the caller's one class, and the loop's call only varies in target.
   * So a target's `fire` is the one it had when the event was scheduled.
   */
  private fires: (((arg: number) => void) | null)[];
  private freeSlots: Int32Array;
  private freeCount: number;
  private stopped = false;
  /**
   * The periodic target (`every`), or null: delivered by the loop like an
   * event at `tickAt` with insertion counter `tickSeq`, without entering the
   * heap. It stands for an event that would always be pending.
   */
  private tickTarget: EventTarget | null = null;
  private tickPeriod = 0;
  private tickAt = Infinity;
  private tickSeq = 0;
  /** The `until` of the run in progress (-Infinity outside a run: no advance). */
  private until = -Infinity;
  /**
   * Whose step ends the event being delivered (null: nobody's, or unknown).
   * An event handler sets it just before its last action, resuming that
   * thread (SimThread.fire, CoherenceFabric.fire); the run loop clears it
   * before every event. Only that thread may `advance` the clock: nothing of
   * the handler runs after it.
   */
  tail: unknown = null;
  /**
   * Whether `advance` may move the clock. false: every wait is an event, as
   * before the clock advance; the results are the same, only the event count
   * differs (test/clockAdvance.test.ts compares the two).
   */
  advancing: boolean = advanceDefault.on;
  /** `advancing` of simulators made from now on (tests switch it off to compare). */
  static get advanceByDefault(): boolean {
    return advanceDefault.on;
  }
  static set advanceByDefault(on: boolean) {
    advanceDefault.on = on;
  }

  /**
   * Whether `every` delivers its target as a tick of the loop (true) or as
   * an event that reschedules itself, as before ticks; the results are the
   * same, only `eventsFired` differs (test/engine.test.ts, test/eventSavings.test.ts).
   */
  ticking: boolean = tickDefault.on;
  /** `ticking` of simulators made from now on (tests switch it off to compare). */
  static get tickByDefault(): boolean {
    return tickDefault.on;
  }
  static set tickByDefault(on: boolean) {
    tickDefault.on = on;
  }

  constructor(initialCapacity = 1024) {
    this.heap = new Int32Array(initialCapacity);
    this.times = new Float64Array(initialCapacity);
    this.order = new Float64Array(initialCapacity);
    this.args = new Int32Array(initialCapacity);
    this.targets = new Array(initialCapacity).fill(null);
    this.fires = new Array(initialCapacity).fill(null);
    this.freeSlots = new Int32Array(initialCapacity);
    for (let i = 0; i < initialCapacity; i++) this.freeSlots[i] = initialCapacity - 1 - i;
    this.freeCount = initialCapacity;
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

  /** `arg` must be a 32-bit integer (see `args`). */
  scheduleAt(time: number, target: EventTarget, arg = 0): void {
    if ((arg | 0) !== arg) throw new RangeError(`event argument ${arg} is not a 32-bit integer`);
    if (this.freeCount === 0) this.grow();
    const slot = this.freeSlots[--this.freeCount];
    const seq = this.counter++;
    const times = this.times, order = this.order, heap = this.heap;
    times[slot] = time;
    order[slot] = seq;
    this.args[slot] = arg;
    this.targets[slot] = target;
    this.fires[slot] = target.fire;
    // Sift up: move parents down until the new entry's place is found.
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const ps = heap[p];
      const pt = times[ps];
      if (pt < time || (pt === time && order[ps] < seq)) break;
      heap[i] = ps;
      i = p;
    }
    heap[i] = slot;
  }

  /**
   * Deliver `target.fire(0)` every `periodNs` ns from now on (first at now +
   * periodNs), for as long as the simulator runs: the same deliveries, at
   * the same times and in the same order among the events, as a target that
   * schedules itself `periodNs` ahead at the end of each `fire` (a sampler),
   * but without a heap insertion and removal each time. The tick takes an
   * insertion counter where that event would have been scheduled (now, and
   * after each delivery), so ties with events at the same time are broken as
   * before; `advance` treats it as pending. Ticks are counted in
   * `ticksFired`, not `eventsFired`. One periodic target per simulator.
   */
  every(periodNs: number, target: EventTarget): void {
    if (!(periodNs > 0)) throw new RangeError(`period ${periodNs} is not positive`);
    if (this.tickTarget !== null) throw new Error('a periodic target is set already');
    if (!this.ticking) {
      const sim = this;
      const event = {
        fire(): void {
          target.fire(0);
          sim.schedule(periodNs, event, 0);
        },
      };
      this.schedule(periodNs, event, 0);
      return;
    }
    this.tickTarget = target;
    this.tickPeriod = periodNs;
    this.tickAt = this.now + periodNs;
    this.tickSeq = this.counter++;
  }

  /**
   * Move the clock `delay` ns ahead inside the current event, instead of
   * scheduling an event after `delay` and delivering it, when that event
   * would be the next one delivered: the heap's earliest event is later
   * than now + delay (an event at the same time was scheduled first, so it
   * would go first: no advance), the run is not stopped and now + delay is
   * within its `until`. The caller (the tail thread, see `tail`) then goes
   * on as that event would have made it go on: same time, same order of
   * everything, one event fewer. Returns false (the caller schedules the
   * event) otherwise.
   */
  advance(delay: number): boolean {
    const at = this.now + delay;
    if (!this.advancing || this.stopped || at > this.until) return false;
    if (this.size > 0 && !(this.times[this.heap[0]] > at)) return false;
    if (!(this.tickAt > at)) return false;
    this.now = at;
    return true;
  }

  /** Run until no event is left, `until` ns is reached, or `stop()` is called. */
  run(until = Infinity): void {
    this.stopped = false;
    this.until = until;
    try {
      this.loop(until);
    } finally {
      this.until = -Infinity;
      this.tail = null;
    }
    if (until !== Infinity && !this.stopped && this.now < until) this.now = until;
  }

  private loop(until: number): void {
    while (!this.stopped) {
      const any = this.size > 0;
      const slot = any ? this.heap[0] : -1;
      const t = any ? this.times[slot] : Infinity;
      // The periodic tick goes first when an event with its time and counter would.
      const tickAt = this.tickAt;
      if (tickAt <= t && tickAt !== Infinity && (tickAt < t || this.tickSeq < this.order[slot])) {
        if (tickAt > until) break;
        this.tick();
        continue;
      }
      if (!any || t > until) break;
      const target = this.targets[slot]!;
      const fire = this.fires[slot]!;
      const arg = this.args[slot];
      this.targets[slot] = null;
      this.fires[slot] = null;
      this.freeSlots[this.freeCount++] = slot;
      this.popRoot();
      this.now = t;
      this.eventsFired++;
      this.tail = null;
      fire.call(target, arg);
    }
  }

  /** Deliver the periodic tick, then take its next time and counter as its `fire` rescheduling itself would. */
  private tick(): void {
    const target = this.tickTarget!;
    this.now = this.tickAt;
    this.ticksFired++;
    this.tail = null;
    target.fire(0);
    this.tickAt = this.now + this.tickPeriod;
    this.tickSeq = this.counter++;
  }

  /** Stop the run loop after the current event. */
  stop(): void {
    this.stopped = true;
  }

  private popRoot(): void {
    const last = --this.size;
    if (last === 0) return;
    const heap = this.heap, times = this.times, order = this.order;
    const slot = heap[last];
    const t = times[slot], s = order[slot];
    // Sift down the former last entry from the root.
    let i = 0;
    const half = last >> 1;
    while (i < half) {
      let c = 2 * i + 1;
      let cs = heap[c];
      const r = c + 1;
      if (r < last) {
        const rs = heap[r];
        if (times[rs] < times[cs] || (times[rs] === times[cs] && order[rs] < order[cs])) {
          c = r;
          cs = rs;
        }
      }
      const ct = times[cs];
      if (t < ct || (t === ct && s < order[cs])) break;
      heap[i] = cs;
      i = c;
    }
    heap[i] = slot;
  }

  private grow(): void {
    const old = this.times.length;
    const n = old * 2;
    const h = new Int32Array(n); h.set(this.heap); this.heap = h;
    const t = new Float64Array(n); t.set(this.times); this.times = t;
    const o = new Float64Array(n); o.set(this.order); this.order = o;
    const a = new Int32Array(n); a.set(this.args); this.args = a;
    for (let i = old; i < n; i++) {
      this.targets.push(null);
      this.fires.push(null);
    }
    const f = new Int32Array(n);
    for (let i = 0; i < n - old; i++) f[i] = n - 1 - i;
    this.freeSlots = f;
    this.freeCount = n - old;
  }
}

/** Adapts a plain function to an EventTarget (for rare events; hot paths implement EventTarget). */
export function callback(fn: (arg: number) => void): EventTarget {
  return { fire: fn };
}
