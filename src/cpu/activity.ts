/**
 * Where time went: every thread is always doing one named activity, and the
 * ledger adds up, per activity, the time spent on a CPU and off it (asleep or
 * waiting for a CPU). Activity names are folded stacks ("containerd;umount;
 * mount_lock;spin") so the same numbers give both the breakdown table and the
 * flame-graph input.
 */
/**
 * What a moment of a thread's time is, typed where the activity is made (the
 * kernel model's step kinds, the launch's processes), so that breakdowns
 * count kinds instead of matching the text of labels.
 */
export const ACTIVITY_PHASES = ['work', 'runtime', 'start', 'wait', 'spin', 'pathSpin', 'rcu'] as const;
export type ActivityPhase = (typeof ACTIVITY_PHASES)[number];
export interface ActivityKind {
  /**
   * work: CPU work (kernel or user); runtime: the container runtime's own
   * work; start: a container's start after its rootfs; wait: waiting for a
   * sleeping lock (an rw-semaphore: optimistic spinning on CPU, sleeping
   * off); spin: spinning on a spinlock or seqlock writer; pathSpin: a path
   * walk spinning in path_init while mount_lock's sequence is odd; rcu:
   * waiting for an RCU grace period.
   */
  phase: ActivityPhase;
  /** Some lock is held (the time is a critical section). */
  inLock: boolean;
  /** A seqlock (mount_lock) is held for write: every path walk spins meanwhile. */
  inSeqlock: boolean;
}
export const PLAIN_WORK: ActivityKind = Object.freeze({ phase: 'work', inLock: false, inSeqlock: false });

export class ActivityNames {
  private readonly ids = new Map<string, number>();
  readonly names: string[] = [];
  /** The kind of each activity, by id (PLAIN_WORK where none was given). */
  readonly kinds: ActivityKind[] = [];
  /** The id of activity `name`; `kind` types it the first time it is given. */
  id(name: string, kind?: ActivityKind): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.ids.set(name, id);
      this.kinds.push(kind ?? PLAIN_WORK);
    } else if (kind && this.kinds[id] === PLAIN_WORK) this.kinds[id] = kind;
    return id;
  }
}

export class ActivityLedger {
  onCpu: Float64Array = new Float64Array(64);
  offCpu: Float64Array = new Float64Array(64);
  private current: number[] = [];
  private since: number[] = [];
  private running: boolean[] = [];

  constructor(readonly names: ActivityNames, readonly idle: number = names.id('idle')) {}

  register(thread: number, now: number): void {
    this.current[thread] = this.idle;
    this.since[thread] = now;
    this.running[thread] = false;
  }

  set(thread: number, activity: number, now: number): void {
    this.close(thread, now);
    this.current[thread] = activity;
  }

  resume(thread: number, now: number): void {
    this.close(thread, now);
    this.running[thread] = true;
  }

  suspend(thread: number, now: number): void {
    this.close(thread, now);
    this.running[thread] = false;
  }

  finish(thread: number, now: number): void {
    this.close(thread, now);
    this.running[thread] = false;
    this.current[thread] = this.idle;
  }

  /** Bring every thread's open interval up to `now` (before reading totals). */
  flush(now: number): void {
    for (let t = 0; t < this.current.length; t++) if (this.current[t] !== undefined) this.close(t, now);
  }

  /** Totals by activity name, ns. */
  totals(): { name: string; kind: ActivityKind; onCpuNs: number; offCpuNs: number }[] {
    const out = [];
    for (let i = 0; i < this.names.names.length; i++) {
      const on = this.onCpu[i] ?? 0, off = this.offCpu[i] ?? 0;
      if (on > 0 || off > 0) out.push({ name: this.names.names[i], kind: this.names.kinds[i]!, onCpuNs: on, offCpuNs: off });
    }
    return out;
  }

  private close(thread: number, now: number): void {
    const act = this.current[thread];
    const dt = now - this.since[thread];
    this.since[thread] = now;
    if (dt <= 0 || act === this.idle) return;
    if (act >= this.onCpu.length) this.growTo(act + 1);
    if (this.running[thread]) this.onCpu[act] += dt;
    else this.offCpu[act] += dt;
  }

  private growTo(n: number): void {
    const size = Math.max(n, this.onCpu.length * 2);
    const a = new Float64Array(size); a.set(this.onCpu); this.onCpu = a;
    const b = new Float64Array(size); b.set(this.offCpu); this.offCpu = b;
  }
}
