/**
 * Cache lines and the coherence fabric that moves them between cores.
 *
 * A lock is not a delay: it is a value in a cache line plus a policy. What a
 * lock operation costs is what it costs to bring that line to the CPU that
 * needs it, which depends on where the line is now (which cores hold a copy,
 * who last wrote it) and on the fabric's queueing. This module keeps the line
 * state (MESI reduced to what matters for locks: which cores hold a valid copy
 * and whether one of them holds it exclusively) and leaves the cost and
 * queueing of a miss to a fabric subclass (`MeshFabric`, `ChipletFabric`).
 *
 * Granularity is the physical core: SMT siblings share L1/L2, so when one
 * sibling has the line the other hits. The cited "SMT sibling" latency is
 * charged when a thread reads a value its sibling has just written.
 *
 * Misses are merged per *merge group* (a core on the mesh, a CCX on the
 * chiplet fabric): while a group has a fill in flight for a line, later
 * requests from the same group wait for that fill instead of sending their own.
 */
import type { EventTarget, Simulator } from '../engine/simulator.ts';
import { CallMachine, DONE, WAIT, type Call, type SimThread } from '../cpu/thread.ts';
import type { ReaderPressure } from './readerPressure.ts';

/** Where each logical CPU sits. Indexed by logical CPU id. */
export interface FabricLayout {
  core: Int32Array;
  l3: Int32Array;
  socket: Int32Array;
  cores: number;
  l3Groups: number;
  sockets: number;
}

/**
 * What a herd member waits for (issue 14 item 4): true while the spinner
 * must go on spinning (a seqlock's sequence is odd). Read when the member's
 * re-read of the line completes; it changes only with a publish of the line.
 */
export interface SpinCondition {
  waiting(): boolean;
}

/**
 * A plain store (x86 `mov`: a spinlock's release, `smp_store_release`, the
 * end of a seqcount's write): the value it writes. See CoherenceFabric.store.
 */
export interface StoreWrite {
  readonly line: CacheLine;
  /** Write the value: from now on the thread itself reads it (its store buffer forwards it); others see it once it is visible. */
  stored(t: SimThread): void;
  /** Told when the store becomes visible to other cores (`at`: simulated time), if it needs to know. */
  visible?(at: number): void;
}

/** One-way transfer latencies, ns (medians of CAS round trip / 2, as cited by the model file). */
export interface TransferLatencies {
  smtSibling: number;
  sameL3: number;
  crossL3: number;
  crossSocket: number;
  /** L1 hit, ns. */
  hit: number;
  /** Each transfer's latency varies by this much (standard deviation / mean; hardware coreToCore.jitterCv); absent or 0: none. */
  jitterCv?: number;
  /** Transfers an atomic costs on a line its core holds shared with others (hardware coreToCore.sharedRmwTransfers); absent: 1. */
  sharedRmw?: number;
}

export class CacheLine {
  /** Bumped by every publish (a write others can see). */
  version = 0;
  /** Core holding the line exclusively (M/E), or -1. */
  exclusiveCore = -1;
  /** Logical CPU that wrote it last, or -1. */
  lastWriterCpu = -1;
  /** Per-core valid copy. */
  readonly holders: Uint8Array;
  holderCount = 0;
  /** The cores holding a copy, in `holderList[0..holderCount)`: a write invalidates just those (no clear of every core's entry). */
  readonly holderList: Int32Array;
  /** Holders per L3 group and per socket, kept with `holders` so distances are O(1). */
  readonly holdersInL3: Int32Array;
  readonly holdersInSocket: Int32Array;
  /**
   * Per merge group: IDLE, IN_FLIGHT, or the first request waiting for the group's
   * fill in flight (the rest are chained through the pool's `next`); and the last.
   */
  readonly mergeHead: Int32Array;
  readonly mergeTail: Int32Array;
  /** Threads spinning on this line until its next publish. */
  watchers: SimThread[] = [];
  /** The emptied array of the last publish, reused by the next (publish swaps the two). */
  spareWatchers: SimThread[] = [];
  /**
   * Spinners handled in aggregate (`spinUntil`): re-read after each publish by
   * the fabric itself, resumed only when their condition is over.
   */
  herd: SimThread[] = [];
  herdCond: SpinCondition[] = [];
  /** Members in `herd` (entries past it are stale: the arrays are reused, never shrunk). */
  herdSize = 0;
  /**
   * Per merge group: the herd request (not yet arrived) that holds the group's
   * fill, or -1. A request of the group that arrives before it goes first.
   */
  readonly mergeClaim: Int32Array;
  /**
   * Transfers in flight whose snoop has not reached the supplier yet: request
   * ids and the times the line changes hands, by time (see
   * CoherenceFabric.snoopShare). Applied lazily, by `settle`, before anything
   * reads the line's state.
   */
  handoverIds: number[] = [];
  handoverAt: number[] = [];
  /** Pending entries are `[handoverHead, handoverTail)` of the two arrays (both reset to 0 when all are applied; the arrays are reused, never shrunk). */
  handoverHead = 0;
  handoverTail = 0;
  /** The latest fill time of the line's transfers with a hand-over (see CoherenceFabric.handOverAt). */
  lastFillAt = -Infinity;
  /** Reads handed over whose data has not arrived: the supplier's copy is shared, not its own (no write hit). */
  readsInFlight = 0;
  /** The core of the latest read handed over (meaningful while readsInFlight > 0): a write must take that copy too. */
  inFlightReaderCore = -1;
  /** Fabric-private queueing state. */
  fabricState: unknown = null;
  /** Background readers too many to simulate one by one (see readerPressure.ts). */
  pressure: ReaderPressure | null = null;

  constructor(
    readonly id: number,
    readonly name: string,
    layout: FabricLayout,
    /** Socket whose memory (and home agent) the line belongs to. */
    readonly homeSocket: number,
  ) {
    this.holders = new Uint8Array(layout.cores);
    this.holderList = new Int32Array(layout.cores);
    this.holdersInL3 = new Int32Array(layout.l3Groups);
    this.holdersInSocket = new Int32Array(layout.sockets);
    const groups = Math.max(layout.cores, layout.l3Groups);
    this.mergeHead = new Int32Array(groups).fill(IDLE);
    this.mergeTail = new Int32Array(groups).fill(IDLE);
    this.mergeClaim = new Int32Array(groups).fill(-1);
  }
}

/**
 * Requests in flight, kept in a pool of parallel arrays (no object per miss).
 * `next` chains the requests waiting on one merge group's fill.
 */
class RequestPool {
  thread: (SimThread | null)[] = [];
  line: (CacheLine | null)[] = [];
  cpu = new Int32Array(256);
  exclusive = new Uint8Array(256);
  issuedAt = new Float64Array(256);
  /** When the request reaches the fabric: now, or later for a herd member's re-read (its spinner's pause). */
  arrival = new Float64Array(256);
  /** A herd member's condition (its fill re-watches instead of resuming while it holds), else null. */
  cond: (SpinCondition | null)[] = [];
  serviceStart = new Float64Array(256);
  /** Occupancy of background requests met ahead of this one, ns (reader pressure). */
  extraNs = new Float64Array(256);
  next = new Int32Array(256);
  /** 1 once the request's line changed hands (its snoop reached the supplier), before its fill. */
  handedOver = new Uint8Array(256);
  /** 1 for a store's read-for-ownership: its thread does not wait for it (CoherenceFabric.store). */
  posted = new Uint8Array(256);
  /** How long the request waited behind its merge group's fill before it was made, ns (see startService). */
  waitedNs = new Float64Array(256);
  private free: number[] = [];

  take(t: SimThread, line: CacheLine, cpu: number, exclusive: boolean, issuedAt: number, now: number): number {
    let id: number;
    if (this.free.length > 0) id = this.free.pop()!;
    else {
      id = this.thread.length;
      if (id === this.cpu.length) this.grow();
    }
    this.thread[id] = t;
    this.line[id] = line;
    this.cpu[id] = cpu;
    this.exclusive[id] = exclusive ? 1 : 0;
    this.issuedAt[id] = issuedAt;
    this.arrival[id] = Math.max(issuedAt, now);
    this.cond[id] = null;
    this.extraNs[id] = 0;
    this.waitedNs[id] = 0;
    this.next[id] = -1;
    this.handedOver[id] = 0;
    this.posted[id] = 0;
    return id;
  }

  give(id: number): void {
    this.thread[id] = null;
    this.line[id] = null;
    this.cond[id] = null;
    this.free.push(id);
  }

  private grow(): void {
    const n = this.cpu.length * 2;
    const i32 = (a: Int32Array) => { const b = new Int32Array(n); b.set(a); return b; };
    const f64 = (a: Float64Array) => { const b = new Float64Array(n); b.set(a); return b; };
    this.cpu = i32(this.cpu);
    this.next = i32(this.next);
    const ex = new Uint8Array(n); ex.set(this.exclusive); this.exclusive = ex;
    const ho = new Uint8Array(n); ho.set(this.handedOver); this.handedOver = ho;
    const po = new Uint8Array(n); po.set(this.posted); this.posted = po;
    this.issuedAt = f64(this.issuedAt);
    this.arrival = f64(this.arrival);
    this.serviceStart = f64(this.serviceStart);
    this.extraNs = f64(this.extraNs);
    this.waitedNs = f64(this.waitedNs);
  }
}

/** Hits a thread may take without an event in one resume (see reissue). */
const MAX_INLINE_HITS = 4;

/** Merge-group state of a line: no fill in flight. */
const IDLE = -2;
/** Merge-group state of a line: a fill in flight, nobody waiting behind it. */
const IN_FLIGHT = -1;

/**
 * A FIFO of request ids served one at a time (a TOR entry, a CCX's L3 port).
 * Besides the requests that have arrived, it holds herd members' re-reads
 * that arrive later (`future`, by arrival time): the next request served is
 * the earliest arrived, so a herd member takes its place by its own arrival
 * time among everyone else's requests, without an event of its own to arrive.
 */
export class ServiceQueue implements EventTarget {
  busy = false;
  /**
   * Arrived requests, FIFO, in a ring (`items[(head + i) & mask]`, i <
   * `length`) that doubles when full. Typed and reused: the queue allocates
   * nothing per request (the arrays it used to re-slice were ~80 bytes of
   * garbage per miss).
   */
  private items = new Int32Array(16);
  private head = 0;
  length = 0;
  /**
   * Herd re-reads not arrived yet and their arrival times, sorted by
   * arrival, in `future[futureHead..futureTail)` (`futureAt` alike):
   * inserted in place, taken from the front; the arrays are compacted or
   * doubled when the end is reached.
   */
  private future = new Int32Array(16);
  private futureAt = new Float64Array(16);
  private futureHead = 0;
  private futureTail = 0;
  /** Time of the earliest wake scheduled for the queue (Infinity: none). */
  wakeAt = Infinity;
  /** Start the next request when the queue is idle (set by the fabric that owns the queue). */
  onWake: () => void = () => {};
  fire(): void {
    this.wakeAt = Infinity;
    this.onWake();
  }
  /** Herd re-reads waiting to arrive. */
  get futureLength(): number {
    return this.futureTail - this.futureHead;
  }
  /** Arrival time of the next one (only when futureLength > 0). */
  get nextArrival(): number {
    return this.futureAt[this.futureHead];
  }
  addFuture(id: number, at: number): void {
    if (this.futureTail === this.futureHead) {
      // Empty: start over at the front.
      this.futureHead = this.futureTail = 0;
    }
    if (this.futureTail === this.future.length) this.makeRoom();
    const head = this.futureHead, future = this.future, futureAt = this.futureAt;
    let i = this.futureTail++;
    // After every arrival at or before `at` (ties keep the order they were added).
    while (i > head && futureAt[i - 1] > at) {
      future[i] = future[i - 1];
      futureAt[i] = futureAt[i - 1];
      i--;
    }
    future[i] = id;
    futureAt[i] = at;
  }
  /** Room for one more at the end: the live part moved to the front, or the arrays doubled. */
  private makeRoom(): void {
    const n = this.futureTail - this.futureHead;
    if (this.futureHead > 0 && n * 2 <= this.future.length) {
      this.future.copyWithin(0, this.futureHead, this.futureTail);
      this.futureAt.copyWithin(0, this.futureHead, this.futureTail);
    } else {
      const f = new Int32Array(this.future.length * 2);
      f.set(this.future.subarray(this.futureHead, this.futureTail));
      const a = new Float64Array(this.future.length * 2);
      a.set(this.futureAt.subarray(this.futureHead, this.futureTail));
      this.future = f;
      this.futureAt = a;
    }
    this.futureHead = 0;
    this.futureTail = n;
  }
  /** Take `id` out of the future arrivals (a request of its merge group came first); false if absent. */
  removeFuture(id: number): boolean {
    const future = this.future, futureAt = this.futureAt, tail = this.futureTail;
    let i = this.futureHead;
    while (i < tail && future[i] !== id) i++;
    if (i === tail) return false;
    future.copyWithin(i, i + 1, tail);
    futureAt.copyWithin(i, i + 1, tail);
    this.futureTail = tail - 1;
    return true;
  }
  /** The next request to serve at `now`, earliest arrival first (arrived requests win ties), or -1. */
  takeNext(now: number, arrival: Float64Array): number {
    const h = this.futureHead;
    const f = h < this.futureTail && this.futureAt[h] <= now;
    if (this.length > 0 && !(f && this.futureAt[h] < arrival[this.items[this.head]])) return this.shift();
    if (!f) return -1;
    this.futureHead = h + 1;
    return this.future[h];
  }
  push(id: number): void {
    const cap = this.items.length;
    if (this.length === cap) {
      // Full: unroll the ring into one twice as large.
      const grown = new Int32Array(cap * 2);
      for (let i = 0; i < cap; i++) grown[i] = this.items[(this.head + i) & (cap - 1)];
      this.items = grown;
      this.head = 0;
    }
    this.items[(this.head + this.length) & (this.items.length - 1)] = id;
    this.length++;
  }
  shift(): number {
    const id = this.items[this.head];
    this.head = (this.head + 1) & (this.items.length - 1);
    this.length--;
    return id;
  }
}

/** Counters a run reports (and the profile output reads). */
export interface CoherenceStats {
  hits: number;
  misses: number;
  /** Sum over misses of time from request to fill, ns. */
  missWaitNs: number;
  /** Sum over misses of time spent queued before service started, ns. */
  queueWaitNs: number;
}

export abstract class CoherenceFabric implements EventTarget {
  readonly stats: CoherenceStats = { hits: 0, misses: 0, missWaitNs: 0, queueWaitNs: 0 };
  /**
   * L1 hits a thread may take in one resume without an event (its local
   * clock runs ahead instead, SimThread.lag). 0 (the default): every hit is
   * an event, as before issue 14. Inline hits are exact enough for the
   * launches but change the lock microbenchmark with no critical section and
   * no think time (a holder re-taking its own lock in a tight loop: r5.metal
   * TTAS x 8 went from 183 to 45-365 M acquisitions/s with 1-16 inline hits,
   * test/microbench.data.test.ts fails), so they stay off until that regime
   * is understood (docs/model.md 2b).
   */
  maxInlineHits = 0;
  /**
   * Simulate every spinner of a herd on its own (`locksim run --detailed`,
   * `simulation.detailed`): each publish wakes each spinner, which re-reads
   * the line itself. false (the default): `spinUntil` spinners are re-read by
   * the fabric at their own arrival times and resumed only when their wait
   * is over (docs/model.md 2b, "Spinner herds").
   */
  detailed = false;
  /**
   * When, within a transfer, the line leaves its supplier: the share of the
   * transfer's latency after which the request's snoop reaches the core that
   * holds the line. A one-way transfer (the pingpong probe's round trip / 2)
   * is two legs of about equal length, the request to the supplier (through
   * the L3 tags or the home agent) and the data back, so the supplier loses
   * its copy (or its exclusivity, for a read) halfway and the requester can
   * use the line at the end. Until then the supplier goes on hitting in its
   * own cache. 1 would hand the line over only at the fill: a holder
   * re-taking its lock in a loop would keep it for a whole transfer, several
   * acquisitions, which a real core serving the snoop does not (the lock
   * microbenchmark with no critical section, docs/model.md section 4).
   */
  snoopShare = 0.5;
  protected readonly pool = new RequestPool();
  private lineCount = 0;
  /** Per core: its L3 group and socket. */
  private readonly coreL3: Int32Array;
  private readonly coreSocket: Int32Array;
  /** Half-width of a transfer's relative variation (uniform: sqrt(3) x jitterCv); 0: none. */
  private readonly jitterSpan: number;
  /** Transfers an atomic costs on a line its core holds shared with others (TransferLatencies.sharedRmw; 1: one). */
  private readonly sharedRmw: number;

  constructor(
    readonly sim: Simulator,
    readonly layout: FabricLayout,
    readonly lat: TransferLatencies,
    /** Time a spinner takes to notice a change: it is somewhere in a `pause`. */
    readonly pauseNs: number,
  ) {
    this.jitterSpan = Math.sqrt(3) * (lat.jitterCv ?? 0);
    this.sharedRmw = lat.sharedRmw ?? 1;
    this.coreL3 = new Int32Array(layout.cores);
    this.coreSocket = new Int32Array(layout.cores);
    for (let cpu = 0; cpu < layout.core.length; cpu++) {
      this.coreL3[layout.core[cpu]] = layout.l3[cpu];
      this.coreSocket[layout.core[cpu]] = layout.socket[cpu];
    }
  }

  /**
   * The counters as of now: a herd re-read is counted when the fabric queues
   * it at the publish, a woken spinner's when it arrives; those queued but
   * not arrived yet (at the end of a run) are left out, so both modes count alike.
   */
  settledStats(): CoherenceStats {
    const pool = this.pool, now = this.sim.now;
    let pending = 0;
    for (let id = 0; id < pool.thread.length; id++) {
      if (pool.thread[id] !== null && pool.cond[id] !== null && pool.arrival[id] > now) pending++;
    }
    return { ...this.stats, misses: this.stats.misses - pending };
  }

  /** Allocate a line homed on `homeSocket`, initially held by nobody (in memory). */
  newLine(name: string, homeSocket = 0): CacheLine {
    return new CacheLine(this.lineCount++, name, this.layout, homeSocket);
  }

  /**
   * Bring a readable copy to the thread's CPU. Returns true on a miss: the
   * thread is woken when it has the line, and the body yields (`if
   * (coh.load(t, line)) yield;`). Returns false on a hit: the thread goes on
   * at once and the hit's latency runs on its local clock (`t.lag`, paid by
   * its next wait), so an L1 hit costs no event.
   */
  load(t: SimThread, line: CacheLine): boolean {
    if (t.storeLine === line) {
      // The thread's own store not visible yet: its store buffer forwards the value.
      this.stats.hits++;
      t.lag += this.lat.hit;
      return false;
    }
    return this.reissue(t, line, t.cpu, false, this.sim.now, true);
  }

  /**
   * Gain exclusive ownership for an atomic read-modify-write; returns true
   * (yield) on a miss, as `load`. A locked instruction drains the store
   * buffer first: with a store of the thread in flight, it is issued when
   * that store is visible.
   */
  rmw(t: SimThread, line: CacheLine): boolean {
    if (t.storeLine !== null) {
      t.drainLine = line;
      this.drainFrom(t);
      return true;
    }
    return this.reissue(t, line, t.cpu, true, this.sim.now, true);
  }

  /**
   * A plain store: it retires into the core's store buffer and the thread
   * goes on at once, without waiting for the line (x86 TSO: a `mov` does not
   * stall; only a locked instruction, a fence or the buffer filling up does).
   * The store is visible, and published, when the line is held exclusively:
   * at once if the core holds it so, else at the fill of its
   * read-for-ownership, queued like any write. Until then the thread's loads
   * of the line read its own store, and its next atomic or store waits for
   * it (stores leave the buffer in order: one in flight per thread here).
   * Returns true (yield) only in that last case; the thread is woken when
   * its store has been written.
   *
   * Why it matters: a lock's release is such a store. When a spinner has
   * read the lock during the critical section, the holder's copy is shared
   * and the release needs the line back; with the holder waiting for that
   * transfer a hand-off cost two transfers more than the lock microbenchmark
   * measures (docs/model.md section 4).
   */
  store(t: SimThread, w: StoreWrite): boolean {
    if (t.storeLine === w.line) {
      // Behind a store of the thread to the same line: both leave the buffer when the line comes, one publish.
      this.buffer(t, w);
      return false;
    }
    if (t.storeLine !== null) {
      t.drainStore = w;
      this.drainFrom(t);
      return true;
    }
    this.buffer(t, w);
    this.reissue(t, w.line, t.cpu, true, this.sim.now, true, null, true);
    return false;
  }

  /** Store `w` enters thread `t`'s buffer: the thread reads its value from now on, and it is told when the store is visible if it asks to be. */
  private buffer(t: SimThread, w: StoreWrite): void {
    w.stored(t);
    if (w.visible !== undefined) t.pendingStores.push(w);
  }

  /**
   * The thread (which owns the line) changed its value: every spinner watching
   * it notices after the rest of its current `pause` and resumes (counted from
   * the writer's local time, `t.localNow`).
   */
  publish(t: SimThread, line: CacheLine): void {
    // The write happens at the writer's local time (after its hits since its last wait).
    this.publishAt(t, t.cpu, line, t.lag);
  }

  /** A write from `cpu` visible `at` ns from now: every spinner watching the line (but `t`, the thread writing now) notices it. */
  private publishAt(t: SimThread | null, cpu: number, line: CacheLine, at: number): void {
    if (line.handoverHead < line.handoverTail) this.settle(line, this.sim.now + at);
    line.version++;
    line.lastWriterCpu = cpu;
    if (line.herdSize > 0) this.releaseHerd(t, line, at);
    const w = line.watchers;
    if (w.length === 0) return;
    // Swap in the line's spare array: no allocation per publish.
    line.watchers = line.spareWatchers;
    line.spareWatchers = w;
    for (let i = 0; i < w.length; i++) {
      const s = w[i];
      if (s === t) continue;
      this.sim.schedule(at + s.rng.uniform() * this.pauseNs, s, 0);
    }
    w.length = 0;
  }

  /** Spin: the thread keeps its CPU and is woken by the next publish of the line. */
  watch(t: SimThread, line: CacheLine): void {
    // Its local time is spent in the spin: it resumes when the publish is noticed.
    t.lag = 0;
    const inv = this.invalidationAhead(line, t.cpu);
    if (inv >= 0) {
      this.rereadAfterPause(t, inv);
      return;
    }
    line.watchers.push(t);
  }

  /**
   * Spin in a herd until `cond` is over: the thread keeps its CPU; after each
   * publish of the line the fabric re-reads the line for it (its request
   * arrives after the rest of its `pause`, as a woken spinner's would) and
   * resumes the thread only when, with the line read, `cond.waiting()` is
   * false, or when it must re-read the line itself (`t.reread`: it was off
   * its CPU). The caller loops: `while (c.waiting()) { coh.spinUntil(t, line,
   * c); yield; if (t.reread) { t.reread = false; if (coh.load(t, line)) yield; } }`.
   */
  spinUntil(t: SimThread, line: CacheLine, cond: SpinCondition): void {
    t.lag = 0;
    const inv = this.invalidationAhead(line, t.cpu);
    if (inv >= 0) {
      // Its copy goes when a write's snoop in flight arrives: it re-reads then.
      t.reread = true;
      this.rereadAfterPause(t, inv);
      return;
    }
    line.herd[line.herdSize] = t;
    line.herdCond[line.herdSize++] = cond;
  }

  /**
   * The whole spin-wait on `line` while `cond.waiting()`: in the line's herd
   * (spinUntil), or in detailed mode as a watcher that re-reads the line
   * itself after each publish. Every lock's spinners wait this way; call it
   * as `yield coh.spinWhile(t, line, cond)`. A state machine (`SpinWait`),
   * one per thread, reused by its every wait: no generator per wait.
   */
  spinWhile(t: SimThread, line: CacheLine, cond: SpinCondition): Call {
    let w = this.spinWaits[t.id];
    if (w === undefined) w = this.spinWaits[t.id] = new SpinWait(this);
    return w.start(t, line, cond).frame;
  }
  /** Per thread id: its spin-wait machine. */
  private readonly spinWaits: SpinWait[] = [];

  /**
   * The members taken out of a herd by a publish or a write's start
   * (`takeHerd`), reused: no allocation per publish. A write whose snoop is
   * still on its way swaps it with a pending slot (`inv`) instead of copying.
   */
  private released = new HerdReads();

  /**
   * A publish of a line with a herd: each member's re-read arrives after the
   * rest of its pause (the same draw as a woken spinner's) and is queued at
   * once with that arrival time; no member is woken. Members that would hit
   * or be served inside their group without the fabric's queue (on the
   * writer's core or, on the chiplet fabric, in its CCX) and members off
   * their CPU are woken to re-read themselves, as in the detailed mode.
   */
  private releaseHerd(t: SimThread | null, line: CacheLine, at: number): void {
    this.takeHerd(line, t, -1, this.sim.now + at, this.released);
    this.queueHerdReads(line, this.released);
  }

  /**
   * Takes the members of `line`'s herd that re-read from `from` on (each
   * after the rest of its pause) into `r`: the members, their conditions,
   * their arrival times and their order by arrival. `t` (the thread writing
   * now) is dropped; with a writer's core (an invalidation), the spinners on
   * it keep their copy and stay in the herd.
   */
  private takeHerd(line: CacheLine, t: SimThread | null, writerCore: number, from: number, r: HerdReads): void {
    const members = line.herd, conds = line.herdCond, n = line.herdSize;
    r.reserve(n);
    const times = r.times, order = r.order, out = r.members, outConds = r.conds;
    let taken = 0, kept = 0;
    for (let i = 0; i < n; i++) {
      const m = members[i], c = conds[i];
      if (writerCore >= 0 && this.layout.core[m.cpu] === writerCore) {
        members[kept] = m;
        conds[kept++] = c;
        continue;
      }
      if (m === t) continue;
      // By arrival (ties: the order they began spinning), an insertion sort (herds are tens):
      // merge groups are claimed by their first arrival.
      const a = from + m.rng.uniform() * this.pauseNs;
      out[taken] = m;
      outConds[taken] = c;
      times[taken] = a;
      let k = taken++;
      while (k > 0 && times[order[k - 1]] > a) {
        order[k] = order[k - 1];
        k--;
      }
      order[k] = taken - 1;
    }
    line.herdSize = kept;
    r.n = taken;
  }

  /**
   * The re-reads of the members in `r`, taken from `line`'s herd, with the
   * line as it is now: each is queued where the fabric serves it, or the
   * member re-reads by itself.
   */
  private queueHerdReads(line: CacheLine, r: HerdReads, copiesGone = false): void {
    const now = this.sim.now, members = r.members, conds = r.conds, times = r.times, order = r.order;
    for (let k = 0; k < r.n; k++) {
      const i = order[k];
      const s = members[i], cond = conds[i], a = times[i];
      const cpu = s.cpu;
      // (A member whose own store to the line is still in flight reads that store: its re-read is its own too.)
      // copiesGone: a write's snoop takes the members' copies before they arrive, and every read queues at the home.
      if (!s.running || (!copiesGone && (line.holders[this.layout.core[cpu]] === 1 || !this.queuesAtHome(line, cpu))) || s.storeLine === line) {
        s.reread = true;
        this.sim.scheduleAt(a, s, 0);
        continue;
      }
      this.stats.misses++;
      const id = this.pool.take(s, line, cpu, false, a, now);
      this.pool.cond[id] = cond;
      // Preempted before its re-read arrives, a woken spinner would re-read
      // only once it runs again (and from the CPU it then has): leftHerd.
      // In kernel mode it cannot be preempted (Scheduler: need_resched only).
      s.herdRequest = id;
      if (s.kernelDepth === 0) s.watchLeaveCpu(s.herdLeave ??= { interrupt: () => this.leftHerd(s) });
      const group = this.mergeGroup(cpu);
      const head = line.mergeHead[group];
      if (head === IDLE) {
        line.mergeHead[group] = IN_FLIGHT;
        line.mergeClaim[group] = id;
        this.enqueue(id, line);
      } else this.waitForGroup(line, group, id);
    }
  }

  /**
   * Herd members invalidated by a write whose snoop is still on its way, per
   * pending hand-over (slot = the event's arg; `line` set while pending):
   * taken out of the herd when the write started, their reads queued at the
   * hand-over with the line as the snoop leaves it (one event per write, not
   * one per member).
   */
  private readonly inv: HerdReads[] = [];
  private readonly invFree: number[] = [];
  private readonly invalidation: EventTarget = {
    fire: (k: number) => {
      const v = this.inv[k]!;
      const line = v.line!;
      v.line = null;
      this.invFree.push(k);
      if (line.handoverHead < line.handoverTail) this.settle(line, this.sim.now);
      this.queueHerdReads(line, v);
    },
  };

  /**
   * A write's request for `line` (a read-for-ownership or an upgrade) has
   * started: its snoop takes every other copy at `handover`. A core spinning
   * on its copy (a TTAS test, a seqlock retry) misses from then on, so its
   * next load, after the rest of its current pause, is a read request that
   * waits at the line's home behind the write (x86: the spinning load
   * re-issues as soon as the line is invalidated, not when the new value is
   * published). Each spinner re-reads from then: a herd's members are taken
   * out now (a publish before the hand-over does not release them again) and
   * their reads queued at the hand-over; a watcher of the detailed mode is
   * woken then to re-read by itself. Spinners on the writer's core read its
   * cache and keep spinning. Measured on this project's 2-vCPU guest
   * (docs/validation.md, "The TTAS hand-off"): a lock holder whose critical
   * section is longer than a few ns finds the line shared again at every
   * release, which costs it one transfer per acquisition.
   */
  private invalidateSpinners(writer: SimThread, line: CacheLine, handover: number): void {
    const writerCore = this.layout.core[writer.cpu];
    if (line.herdSize > 0) {
      const r = this.released;
      this.takeHerd(line, writer, writerCore, handover, r);
      if (r.n > 0 && this.readsAlwaysQueueAtHome()) {
        // Where a read is served does not depend on the line's state (the mesh's TOR): queued now, arriving after the hand-over.
        this.queueHerdReads(line, r, true);
      } else if (r.n === 1) {
        // One spinner: it re-reads by itself (its wake is the one event a queued read would save).
        const s = r.members[0];
        s.reread = true;
        this.sim.scheduleAt(r.times[0], s, 0);
      } else if (r.n > 0) {
        if (handover <= this.sim.now) this.queueHerdReads(line, r);
        else {
          // The taken members become the pending slot; the slot's emptied reads are the next `released`.
          const k = this.invFree.length > 0 ? this.invFree.pop()! : this.inv.length;
          this.released = this.inv[k] ?? new HerdReads();
          this.inv[k] = r;
          r.line = line;
          this.sim.scheduleAt(handover, this.invalidation, k);
        }
      }
    }
    const w = line.watchers;
    if (w.length === 0) return;
    let wk = 0;
    for (let i = 0; i < w.length; i++) {
      const s = w[i];
      if (s === writer || this.layout.core[s.cpu] === writerCore) {
        w[wk++] = s;
        continue;
      }
      this.rereadAfterPause(s, handover);
    }
    w.length = wk;
  }

  /** Wakes spinner `s` to re-read the line after the rest of its current pause, counted from `at` (absolute ns). */
  private rereadAfterPause(s: SimThread, at: number): void {
    this.sim.scheduleAt(at + s.rng.uniform() * this.pauseNs, s, 0);
  }

  /**
   * The time a write of another core in flight takes `cpu`'s copy of `line`
   * (its snoop, not yet applied: a transfer that started before the spinner
   * began to spin), or -1. The earliest such hand-over.
   */
  private invalidationAhead(line: CacheLine, cpu: number): number {
    const core = this.layout.core[cpu], pool = this.pool;
    for (let k = line.handoverHead; k < line.handoverTail; k++) {
      const id = line.handoverIds[k]!;
      if (pool.exclusive[id] === 1 && this.layout.core[pool.cpu[id]] !== core && line.handoverAt[k]! > this.sim.now) return line.handoverAt[k]!;
    }
    return -1;
  }

  /**
   * Thread `t` left its CPU (preempted) while a herd re-read queued for it
   * had not arrived yet: take the request back (the group's fill passes to
   * the next member waiting for it) and wake the thread at the arrival time
   * to re-read by itself, as a woken spinner would: detailed mode exactly.
   */
  private leftHerd(t: SimThread): void {
    const id = t.herdRequest;
    t.herdRequest = -1;
    const pool = this.pool, now = this.sim.now;
    if (id < 0 || pool.thread[id] !== t || pool.cond[id] === null || pool.arrival[id] <= now) return;
    const line = pool.line[id]!;
    if (line.handoverHead < line.handoverTail) this.settle(line, now);
    const group = this.mergeGroup(pool.cpu[id]);
    const at = pool.arrival[id];
    if (line.mergeClaim[group] === id) {
      // It holds the group's fill and nobody of the group has arrived yet
      // (an earlier arrival would have taken the fill): the next waiting member gets it.
      this.withdraw(id, line);
      const next = line.mergeHead[group];
      line.mergeClaim[group] = -1;
      if (next === IN_FLIGHT) {
        line.mergeHead[group] = IDLE;
        line.mergeTail[group] = IDLE;
      } else {
        const after = pool.next[next];
        line.mergeHead[group] = after >= 0 ? after : IN_FLIGHT;
        if (after < 0) line.mergeTail[group] = IDLE;
        if (pool.cond[next] !== null && pool.arrival[next] > now) line.mergeClaim[group] = next;
        this.enqueue(next, line);
      }
    } else if (!this.unchain(line, group, id)) this.withdraw(id, line);
    pool.give(id);
    this.stats.misses--;
    t.reread = true;
    this.sim.scheduleAt(at, t, 0);
  }

  /** Take request `id` out of its group's waiting chain; false if it is not there. */
  private unchain(line: CacheLine, group: number, id: number): boolean {
    const pool = this.pool;
    let prev = -1, cur = line.mergeHead[group];
    while (cur >= 0 && cur !== id) {
      prev = cur;
      cur = pool.next[cur];
    }
    if (cur !== id) return false;
    const after = pool.next[id];
    if (prev < 0) line.mergeHead[group] = after >= 0 ? after : IN_FLIGHT;
    else pool.next[prev] = after;
    if (line.mergeTail[group] === id) line.mergeTail[group] = prev >= 0 ? prev : IDLE;
    return true;
  }

  /** Whether a read miss of `cpu` now would wait its turn at the line's serialization point (TOR, home). */
  protected abstract queuesAtHome(line: CacheLine, cpu: number): boolean;

  /** Whether every read miss waits its turn at the line's home, whatever the line's state (queuesAtHome always true). */
  protected abstract readsAlwaysQueueAtHome(): boolean;

  /** Herd member `id` has not arrived and a request of its group came first: take it out of the fabric's queue. */
  protected abstract withdraw(id: number, line: CacheLine): boolean;

  /** Whether the thread's core holds a valid copy (a spin re-read would hit). */
  holds(t: SimThread, line: CacheLine): boolean {
    if (line.handoverHead < line.handoverTail) this.settle(line, this.sim.now + t.lag);
    return line.holders[this.layout.core[t.cpu]] === 1;
  }

  fire(id: number): void {
    const t = this.pool.thread[id]!;
    const line = this.pool.line[id]!;
    const cond = this.pool.cond[id];
    if (this.pool.posted[id] === 1) {
      // A store's read-for-ownership: the store is visible now; its thread did not wait.
      const cpu = this.pool.cpu[id];
      this.complete(id);
      this.storeVisible(t, cpu, line, 0);
      return;
    }
    this.complete(id);
    // A herd member that read the line and must go on spinning waits for the next publish without resuming.
    if (cond !== null && t.running && cond.waiting()) {
      this.spinUntil(t, line, cond);
      return;
    }
    // Nothing of this event follows the thread's step.
    this.sim.tail = t;
    t.wake();
  }

  /**
   * The miss of the request being issued by its thread now (`reissue`,
   * inline), or -1: if its service starts at once and its fill would be the
   * next event, the clock moves to the fill instead (`startService`).
   */
  private inlineId = -1;
  /** Set when that request was filled at once (the thread goes on: `reissue` returns false). */
  private inlineFilled = false;

  /** Request `id`'s fill: the line's state, the next request of its queue, the merge group's waiters. Not its thread's wake. */
  private complete(id: number): void {
    const pool = this.pool;
    const line = pool.line[id]!;
    const cpu = pool.cpu[id];
    this.stats.missWaitNs += this.sim.now - pool.issuedAt[id];
    this.stats.queueWaitNs += pool.serviceStart[id] - pool.issuedAt[id];
    // Hand-overs due by now, this request's among them (its snoop came before its fill).
    if (line.handoverHead < line.handoverTail) this.settle(line, this.sim.now);
    if (pool.handedOver[id] === 1 && pool.exclusive[id] === 0) line.readsInFlight--;
    this.fill(line, this.layout.core[cpu], pool.exclusive[id] === 1);
    this.served(id, line);
    pool.give(id);
    // Requests of the same merge group that waited for this fill try again now;
    // most of them hit or are served inside the group.
    const group = this.mergeGroup(cpu);
    let w = line.mergeHead[group];
    line.mergeHead[group] = IDLE;
    line.mergeTail[group] = IDLE;
    line.mergeClaim[group] = -1;
    while (w >= 0) {
      const next = pool.next[w];
      const wt = pool.thread[w]!;
      const wcpu = pool.cpu[w];
      const wex = pool.exclusive[w] === 1;
      const at = pool.issuedAt[w];
      const wcond = pool.cond[w];
      const wposted = pool.posted[w] === 1;
      pool.give(w);
      if (wcond !== null && at > this.sim.now) {
        // A herd member that arrives after this fill: what it finds then (the
        // group's copy, or none if a write came between) decides where it is
        // served, so it re-reads by itself at its arrival, as a woken spinner.
        // (Its own load counts the miss: this request never reached the fabric.)
        this.stats.misses--;
        wt.reread = true;
        this.sim.scheduleAt(at, wt, 0);
      } else this.reissue(wt, line, wcpu, wex, at, false, wcond, wposted, this.sim.now - at);
      w = next;
    }
  }

  // ---- for subclasses ----

  /** The group whose misses are merged: a core (mesh) or a CCX (chiplet). */
  protected abstract mergeGroup(cpu: number): number;

  /** A miss: queue request `id` where the fabric serves it, and call `startService` when its turn comes. */
  protected abstract enqueue(id: number, line: CacheLine): void;

  /** Request `id` finished (its line state is updated): start the next one of its queue. */
  protected abstract served(id: number, line: CacheLine): void;

  /** Request `id`'s turn in its line's queue has come: the transaction starts. */
  protected abstract begin(id: number, line: CacheLine): void;

  /**
   * The line's queue of requests served one at a time (the mesh's TOR entry,
   * the chiplet's home agent), made at its first use.
   */
  protected lineQueue(line: CacheLine): ServiceQueue {
    let q = line.fabricState as ServiceQueue | null;
    if (q === null) {
      const made = (q = new ServiceQueue());
      q.onWake = () => {
        if (made.busy) return;
        this.serveNext(made, line);
      };
      line.fabricState = q;
    }
    return q;
  }

  /** The line's queue is free: serve the earliest arrived request, or wait for the next herd arrival. */
  protected serveNext(q: ServiceQueue, line: CacheLine): void {
    if (line.handoverHead < line.handoverTail) this.settle(line, this.sim.now);
    const id = q.takeNext(this.sim.now, this.pool.arrival);
    if (id >= 0) {
      q.busy = true;
      this.begin(id, line);
      return;
    }
    q.busy = false;
    if (q.futureLength > 0) this.wakeQueueAt(q, q.nextArrival);
  }

  protected wakeQueueAt(q: ServiceQueue, at: number): void {
    if (at >= q.wakeAt) return;
    q.wakeAt = at;
    this.sim.scheduleAt(at, q, 0);
  }

  /**
   * Factor on a transfer's latency when `cpu`'s SMT sibling is busy: the core's
   * miss handling and snoop responses share the pipeline with the sibling, like
   * its work does (Machine wires this to the scheduler; 1 without SMT).
   */
  smtFactor: (cpu: number) => number = () => 1;
  /** The same factor for a core that supplies data: applies while both its SMT threads are busy. */
  coreFactor: (core: number) => number = () => 1;

  /** Latency factor of a transfer to `cpu`: SMT contention on the requesting core or on the owner's. */
  protected transferFactor(line: CacheLine, cpu: number): number {
    const own = this.smtFactor(cpu);
    const owner = line.exclusiveCore;
    return owner >= 0 ? Math.max(own, this.coreFactor(owner)) : own;
  }

  /** Begin serving request `id` for `latency` ns. */
  protected startService(id: number, latency: number): void {
    this.pool.serviceStart[id] = this.sim.now;
    // An atomic on a line its core holds shared with another (AMD: Owned) costs that many transfers; a plain store's upgrade one.
    if (this.sharedRmw > 1 && this.pool.exclusive[id] === 1 && this.pool.posted[id] === 0) {
      const line = this.pool.line[id]!, core = this.layout.core[this.pool.cpu[id]];
      if (line.holders[core] === 1 && line.exclusiveCore !== core && line.holderCount > 1) latency *= this.sharedRmw;
    }
    // The transfer's own variation (coreToCore.jitterCv), drawn by the asking thread: deterministic for a seed.
    if (this.jitterSpan > 0) latency *= 1 + this.jitterSpan * (2 * this.pool.thread[id]!.rng.uniform() - 1);
    // A request that waited for its merge group's fill made its way to the
    // group's L3 meanwhile: only the snoop's last part and the data are left.
    const waited = this.pool.waitedNs[id];
    if (waited > 0) this.pool.extraNs[id] -= Math.min(this.snoopShare * latency, waited);
    const d = latency + this.pool.extraNs[id];
    // Registered before the fill may be taken at once below, so hand-overs keep their time order either way.
    // When the line leaves the other holders: for snoopShare 1, at the fill.
    const handover = this.snoopShare < 1 ? this.handOverAt(id, this.sim.now + this.pool.extraNs[id] + this.snoopShare * latency, this.sim.now + d) : this.sim.now + d;
    const line = this.pool.line[id]!;
    if (this.pool.exclusive[id] === 1 && (line.herdSize > 0 || line.watchers.length > 0)) this.invalidateSpinners(this.pool.thread[id]!, line, handover);
    if (id === this.inlineId && this.pool.thread[id]!.advanceFor(d)) {
      // The thread asking now is served at once and its fill would be the
      // next event: the clock moves there and the fill happens now (exact,
      // as SimThread.advanceFor); its thread goes on without a wake.
      this.inlineId = -1;
      this.inlineFilled = true;
      this.complete(id);
      return;
    }
    this.sim.schedule(d, this, id);
  }

  /**
   * Request `id`'s line changes hands at `at` (its snoop reaches the
   * supplier), queued on the line by time. A core whose own request for the
   * line is still in flight answers a snoop only once its data has come (the
   * transfers of one line are served in order): not before the latest fill
   * of the line's transfers in flight, nor after this request's own `fillAt`.
   */
  private handOverAt(id: number, at: number, fillAt: number): number {
    const line = this.pool.line[id]!;
    at = Math.min(Math.max(at, line.lastFillAt), fillAt);
    if (fillAt > line.lastFillAt) line.lastFillAt = fillAt;
    const ids = line.handoverIds, ats = line.handoverAt, head = line.handoverHead;
    let i = line.handoverTail++;
    while (i > head && ats[i - 1]! > at) {
      ids[i] = ids[i - 1]!;
      ats[i] = ats[i - 1]!;
      i--;
    }
    ids[i] = id;
    ats[i] = at;
    return at;
  }

  /**
   * Apply the hand-overs of `line` due at or before `at`, in time order: the
   * line's state is the one its transfers in flight have made by then. Every
   * reader of the state calls this first (no event per transfer: a snoop
   * changes nothing anyone sees until someone looks at the line).
   */
  private settle(line: CacheLine, at: number): void {
    const ids = line.handoverIds, ats = line.handoverAt, pool = this.pool, n = line.handoverTail;
    let k = line.handoverHead;
    while (k < n && ats[k]! <= at) {
      const id = ids[k++]!;
      pool.handedOver[id] = 1;
      this.snooped(line, this.layout.core[pool.cpu[id]], pool.exclusive[id] === 1);
    }
    // No allocation: once every entry is applied the arrays are reused from the start.
    if (k === n) line.handoverHead = line.handoverTail = 0;
    else line.handoverHead = k;
  }

  /**
   * Occupancy, ns, of `n` background re-reads of a line that `cpu` is about to
   * write, at the place where they serialize (the TOR on the mesh, the home on
   * the chiplet fabric, after merging per CCX).
   */
  protected abstract burstNs(n: number, cpu: number): number;

  /** Mean latency of a transfer between `cpu` and a random other core, by socket. */
  protected meanRemoteLatency(cpu: number, sameSocketNs: number): number {
    const s = this.layout.sockets;
    if (s <= 1) return sameSocketNs;
    void cpu;
    return (sameSocketNs + (s - 1) * this.lat.crossSocket) / s;
  }

  /**
   * One-way latency of serving `cpu`'s miss: set by the farthest party that must
   * take part. A read is supplied by the nearest holder (or memory); a write must
   * also reach every other holder to invalidate it. A line cached nowhere comes
   * from its home memory (across the socket link if the home is the other socket).
   */
  protected sourceLatency(line: CacheLine, cpu: number, exclusive: boolean): number {
    const core = this.layout.core[cpu];
    const sock = this.layout.socket[cpu];
    const l3 = this.layout.l3[cpu];
    const mine = line.holders[core];
    let distance: number; // 0 memory, 1 same L3, 2 other L3 same socket, 3 other socket
    if (line.exclusiveCore >= 0 && line.exclusiveCore !== core) {
      const o = line.exclusiveCore;
      distance = this.coreDistance(o, sock, l3);
    } else if (exclusive) {
      const others = line.holderCount - mine;
      const reader = line.readsInFlight > 0 ? line.inFlightReaderCore : -1;
      // No other holder yet, but a read handed over is on its way to another core: the write must take that copy.
      if (others === 0 && reader >= 0 && reader !== core) distance = this.coreDistance(reader, sock, l3);
      else if (others === 0) distance = 0;
      else if (line.holderCount - line.holdersInSocket[sock] > 0) distance = 3;
      else if (line.holdersInSocket[sock] - line.holdersInL3[l3] > 0) distance = 2;
      else distance = 1;
    } else {
      if (line.holdersInL3[l3] - mine > 0) distance = 1;
      else if (line.holdersInSocket[sock] - mine > 0) distance = 2;
      else if (line.holderCount - mine > 0) distance = 3;
      else distance = 0;
    }
    if (distance === 0 && line.homeSocket !== sock) distance = 3; // only in remote memory
    switch (distance) {
      case 3:
        return this.lat.crossSocket;
      case 2:
        return this.lat.crossL3;
      default:
        return this.lat.sameL3;
    }
  }

  /** How far core `other` is from a cpu on socket `sock` in L3 group `l3`: 3 another socket, 2 another L3, 1 the same L3. */
  private coreDistance(other: number, sock: number, l3: number): number {
    return this.coreSocket[other] !== sock ? 3 : this.coreL3[other] !== l3 ? 2 : 1;
  }

  /** Whether serving `cpu`'s miss needs a party outside its L3 group. */
  protected outsideL3(line: CacheLine, cpu: number, exclusive: boolean): boolean {
    const l3 = this.layout.l3[cpu];
    if (line.exclusiveCore >= 0) return this.coreL3[line.exclusiveCore] !== l3;
    if (exclusive) return line.holderCount - line.holdersInL3[l3] > 0 || line.holderCount === 0;
    return line.holdersInL3[l3] === 0;
  }

  // ---- shared mechanics ----

  /**
   * A request of `t` for `line`. `inline`: the thread itself asks now and goes
   * on at once after a hit (returns false); otherwise (a request that waited
   * for its merge group's fill) every outcome wakes it. Returns whether the
   * thread waits for a wake.
   */
  private reissue(t: SimThread, line: CacheLine, cpu: number, exclusive: boolean, issuedAt: number, inline: boolean, cond: SpinCondition | null = null, posted = false, waitedNs = 0): boolean {
    if (line.handoverHead < line.handoverTail) this.settle(line, inline ? this.sim.now + t.lag : Math.max(issuedAt, this.sim.now));
    const core = this.layout.core[cpu];
    let mine = line.holders[core] === 1;
    // Background readers ahead of an atomic: they took copies, so it is a miss, and it waits for them.
    const ahead = exclusive && line.pressure !== null ? line.pressure.requestsAhead(this.sim.now) : 0;
    if (ahead > 0) mine = false;
    if (mine && (!exclusive || line.exclusiveCore === core || (line.holderCount === 1 && line.readsInFlight === 0))) {
      this.stats.hits++;
      if (exclusive) {
        line.exclusiveCore = core;
      }
      if (posted) {
        // A store to a line held exclusively: written into the cache, visible now; the thread does not wait.
        this.storeVisible(t, cpu, line, inline ? t.lag : Math.max(0, issuedAt - this.sim.now));
        return false;
      }
      const w = line.lastWriterCpu;
      const fromSibling = w >= 0 && w !== cpu && this.layout.core[w] === core;
      const latency = fromSibling ? this.lat.smtSibling : this.lat.hit;
      // The hit's wake would be the next event: the clock moves instead (exact, SimThread.advanceFor).
      if (inline && t.advanceFor(latency)) return false;
      // Inline unless the thread has run far enough ahead: at most
      // maxInlineHits hits per resume and a lag under one pause, so its clock
      // stays close to everyone else's, and a loop of hits alone (a lock taken
      // and released with nothing between) still lets time pass.
      if (inline && t.inlineHits < this.maxInlineHits && t.lag + latency < this.pauseNs) {
        t.inlineHits++;
        t.lag += latency;
        return false;
      }
      if (inline) {
        this.sim.schedule(t.lag + latency, t, 0);
        t.lag = 0;
        return true;
      }
      this.sim.schedule(Math.max(0, issuedAt - this.sim.now) + latency, t, 0);
      return true;
    }
    this.stats.misses++;
    const id = this.pool.take(t, line, cpu, exclusive, issuedAt, this.sim.now);
    this.pool.waitedNs[id] = waitedNs;
    this.pool.cond[id] = cond;
    if (ahead > 0) this.pool.extraNs[id] = this.burstNs(ahead, cpu);
    if (posted) {
      // A store's read-for-ownership: the thread goes on (its local clock too) and never waits for it.
      this.pool.posted[id] = 1;
      t.storeLine = line;
      if (inline) this.pool.extraNs[id] += t.lag;
      inline = false;
    } else if (inline && t.lag > 0) {
      // Local time the thread ran ahead (hits since its last wait): the fill comes that much later.
      this.pool.extraNs[id] += t.lag;
      t.lag = 0;
    }
    const group = this.mergeGroup(cpu);
    const head = line.mergeHead[group];
    const claim = line.mergeClaim[group];
    if (head === IDLE) {
      line.mergeHead[group] = IN_FLIGHT;
      if (!inline) {
        this.enqueue(id, line);
        return !posted;
      }
      // Served at once with nothing else due before its fill: filled now (startService).
      this.inlineId = id;
      this.inlineFilled = false;
      this.enqueue(id, line);
      this.inlineId = -1;
      return !this.inlineFilled;
    } else if (claim >= 0 && this.pool.arrival[claim] > this.pool.arrival[id] && this.withdraw(claim, line)) {
      // The group's fill was claimed by a herd member that has not arrived yet:
      // this request came first, so it takes the group and the member waits behind it.
      line.mergeClaim[group] = -1;
      this.pool.next[claim] = head === IN_FLIGHT ? -1 : head;
      if (head === IN_FLIGHT) line.mergeTail[group] = claim;
      line.mergeHead[group] = claim;
      this.enqueue(id, line);
    } else this.waitForGroup(line, group, id);
    return !posted;
  }

  /** The thread waits for its store from its local time on: the wait absorbs its lag. */
  private drainFrom(t: SimThread): void {
    t.drainAt = this.sim.now + t.lag;
    t.lag = 0;
  }

  /**
   * Thread `t`'s store to `line` from `cpu` is visible `at` ns from now: it
   * is published, and what the thread waits to issue after it (an atomic,
   * another store) goes now.
   */
  private storeVisible(t: SimThread, cpu: number, line: CacheLine, at: number): void {
    t.storeLine = null;
    // No spinner is skipped: the writer itself may be spinning on the line by
    // now (its store left the buffer while it waited for another holder).
    this.publishAt(null, cpu, line, at);
    const stores = t.pendingStores;
    if (stores.length > 0) {
      for (let i = 0; i < stores.length; i++) stores[i]!.visible!(this.sim.now + at);
      stores.length = 0;
    }
    const dl = t.drainLine, ds = t.drainStore;
    const from = Math.max(this.sim.now + at, t.drainAt);
    if (dl !== null) {
      t.drainLine = null;
      this.reissue(t, dl, t.cpu, true, from, false);
    } else if (ds !== null) {
      t.drainStore = null;
      this.buffer(t, ds);
      this.reissue(t, ds.line, t.cpu, true, from, false, null, true);
      this.sim.scheduleAt(from, t, 0);
    }
  }

  /**
   * Request `id` waits for its merge group's fill in flight: in the group's
   * chain by arrival (a herd member queued at a publish arrives later than a
   * request made now), so the group's requests are retried in the order
   * they reached the group. Requests made now arrive last: appended.
   */
  private waitForGroup(line: CacheLine, group: number, id: number): void {
    const pool = this.pool;
    const head = line.mergeHead[group];
    pool.next[id] = -1;
    if (head === IN_FLIGHT) {
      line.mergeHead[group] = id;
      line.mergeTail[group] = id;
      return;
    }
    const at = pool.arrival[id];
    const tail = line.mergeTail[group];
    if (pool.arrival[tail] <= at) {
      pool.next[tail] = id;
      line.mergeTail[group] = id;
      return;
    }
    if (pool.arrival[head] > at) {
      pool.next[id] = head;
      line.mergeHead[group] = id;
      return;
    }
    let prev = head;
    while (pool.next[prev] >= 0 && pool.arrival[pool.next[prev]] <= at) prev = pool.next[prev];
    pool.next[id] = pool.next[prev];
    pool.next[prev] = id;
  }

  /**
   * Line state once a request's snoop has reached the supplier: a write
   * invalidates every other copy and the line is on its way to `core` (its
   * owner from now: the next request is supplied from there); a read takes
   * the owner's exclusivity. The requester holds a copy only from its fill
   * (until then a request of its core waits for that fill, as for any miss
   * in flight).
   */
  private snooped(line: CacheLine, core: number, exclusive: boolean): void {
    if (!exclusive) {
      if (line.exclusiveCore >= 0 && line.exclusiveCore !== core) line.exclusiveCore = -1;
      line.readsInFlight++;
      line.inFlightReaderCore = core;
      return;
    }
    const list = line.holderList;
    let kept = 0;
    for (let i = 0; i < line.holderCount; i++) {
      const c = list[i];
      if (c === core) {
        list[kept++] = c;
        continue;
      }
      line.holders[c] = 0;
      line.holdersInL3[this.coreL3[c]]--;
      line.holdersInSocket[this.coreSocket[c]]--;
    }
    line.holderCount = kept;
    line.exclusiveCore = core;
  }

  /** Line state after a fill: a write leaves one exclusive holder, a read adds a sharer. */
  private fill(line: CacheLine, core: number, exclusive: boolean): void {
    if (exclusive) {
      // Invalidate every other copy: only the holders' entries are non-zero.
      const list = line.holderList;
      for (let i = 0; i < line.holderCount; i++) {
        const c = list[i];
        line.holders[c] = 0;
        line.holdersInL3[this.coreL3[c]] = 0;
        line.holdersInSocket[this.coreSocket[c]] = 0;
      }
      line.holderCount = 0;
      line.exclusiveCore = core;
    } else if (line.exclusiveCore >= 0 && line.exclusiveCore !== core) {
      line.exclusiveCore = -1; // M -> S on the owner
    }
    if (!line.holders[core]) {
      line.holders[core] = 1;
      line.holderList[line.holderCount++] = core;
      line.holdersInL3[this.coreL3[core]]++;
      line.holdersInSocket[this.coreSocket[core]]++;
    }
    if (line.holderCount === 1) line.exclusiveCore = core;
  }
}

/** Members taken out of a herd, with their conditions, arrival times and order by arrival (CoherenceFabric.takeHerd). */
class HerdReads {
  members: SimThread[] = [];
  conds: SpinCondition[] = [];
  times = new Float64Array(64);
  order = new Int32Array(64);
  n = 0;
  /** The line of a pending invalidation (CoherenceFabric.inv), else null. */
  line: CacheLine | null = null;

  /** Room for `n` members (the herd's size). */
  reserve(n: number): void {
    if (n <= this.times.length) return;
    this.times = new Float64Array(2 * n);
    this.order = new Int32Array(2 * n);
  }
}

/** States of a SpinWait. */
const enum Spin {
  /** The top of the loop: wait while the condition holds, else return. */
  Check,
  /** Woken by a publish (detailed mode): re-read the line. */
  Watched,
  /** Resumed by the herd (its wait is over, or it must re-read the line itself). */
  Herded,
}

/**
 * `CoherenceFabric.spinWhile` as a state machine; the same steps as the
 * generator it replaced:
 *
 *     while (cond.waiting()) {
 *       if (detailed) { watch(t, line); yield; if (load(t, line)) yield; continue; }
 *       spinUntil(t, line, cond); yield;
 *       if (t.reread) { t.reread = false; if (load(t, line)) yield; }
 *     }
 */
class SpinWait extends CallMachine {
  private line: CacheLine | null = null;
  private cond: SpinCondition | null = null;
  constructor(private readonly coh: CoherenceFabric) {
    super();
  }

  start(t: SimThread, line: CacheLine, cond: SpinCondition): this {
    this.t = t;
    this.line = line;
    this.cond = cond;
    this.state = Spin.Check;
    return this;
  }

  next(): IteratorResult<Call | void, unknown> {
    const t = this.t!, line = this.line!, coh = this.coh;
    for (;;) {
      switch (this.state) {
        case Spin.Watched:
          this.state = Spin.Check;
          if (coh.load(t, line)) return WAIT;
          break;
        case Spin.Herded:
          this.state = Spin.Check;
          if (t.reread) {
            t.reread = false;
            if (coh.load(t, line)) return WAIT;
          }
          break;
        default: {
          const cond = this.cond!;
          if (!cond.waiting()) {
            this.t = this.line = this.cond = null;
            return DONE;
          }
          if (coh.detailed) {
            coh.watch(t, line);
            this.state = Spin.Watched;
          } else {
            coh.spinUntil(t, line, cond);
            this.state = Spin.Herded;
          }
          return WAIT;
        }
      }
    }
  }
}
