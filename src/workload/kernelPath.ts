/**
 * Executes a kernel model's syscalls on simulated threads: each step of a
 * syscall becomes lock traffic on the machine's fabric or CPU work, and every
 * moment is labelled with a folded stack (containerd;move_mount;namespace_sem;
 * mount_lock;attachCsNs) so the same run yields the breakdown of where time
 * went and a flame graph.
 *
 * The global state of the mount path lives here: `namespace_sem` (an
 * rw-semaphore), `mount_lock` (a seqlock whose readers are every path walk on
 * the machine), the expedited RCU grace period, and the length of the host's
 * mount table.
 */
import type { SimThread } from '../cpu/thread.ts';
import type { Machine } from '../machine.ts';
import { RwSemaphore } from '../locks/rwsem.ts';
import { SeqLock } from '../locks/seqlock.ts';
import type { Steps } from '../locks/spinlock.ts';
import type { KernelModel, KernelStep } from './kernelModel.ts';
import type { RandomStream } from '../engine/random.ts';

const enum StepKind {
  NsRead,
  NsWrite,
  NsUpRead,
  NsUpWrite,
  MountLock,
  MountUnlock,
  Cpu,
  CpuPerMount,
  Rcu,
  PathLookup,
  /** Start of a forEachMount body; `value` is the index of its LoopEnd. */
  LoopBegin,
  /** End of a forEachMount body; `value` is the index of its LoopBegin. */
  LoopEnd,
}

/**
 * A forEachMount body runs at most this many times; each pass stands for
 * mounts/passes mounts. Copying a namespace of 5,000 mounts one by one would
 * be 10,000 mount_lock acquisitions per container start, ten times the rest
 * of a launch; in chunks, each pass's CPU steps take `factor` times as long
 * and each mount_lock write section, taken once, is charged `factor - 1`
 * more line pulls while holding (twice what its own sequence write took:
 * taking the lock and writing the sequence after readers re-read it).
 * Path walks then see one long write section where the kernel has many short
 * ones with gaps between: the sequence is odd for the same total time.
 */
export const MOUNT_LOOP_PASSES = 16;

/** A syscall flattened for one layer count: steps with their ns and activity label. */
interface FlatStep {
  kind: StepKind;
  /** ns for Cpu; count for PathLookup. */
  value: number;
  /** Activity label while the step runs. */
  activity: number;
  /** Activity label once the step is done (what the thread is inside of). */
  after: number;
  /** Path lookups: the label of the walk itself (`activity` is the spin in path_init). */
  walk: number;
}

/**
 * synchronize_rcu_expedited(): callers sleep until a grace period that started
 * after their call has ended. Concurrent callers share grace periods, as the
 * kernel's expedited sequence counter lets them: those arriving while one runs
 * wait for the next, which then serves them all.
 */
export class ExpeditedRcu {
  private running = false;
  private current: SimThread[] = [];
  private next: SimThread[] = [];
  gracePeriods = 0;
  private readonly ender = { fire: () => this.end() };

  /**
   * A grace period takes `baseNs` plus `perBusyCpuNs` for every other CPU
   * running a thread when it starts: idle CPUs are in dyntick-idle and need no IPI
   * (on this 2-vCPU host an unmount's wait is ~9 us with the other CPU idle,
   * ~50 us with it busy: docs/validation.md).
   */
  private fastDraws: RandomStream | null = null;

  constructor(
    private readonly m: Machine,
    readonly baseNs: number,
    readonly perBusyCpuNs: number,
    /**
     * The fast path when no other CPU is busy (mechanisms.rcuExpeditedIdleFast*):
     * with probability `share` the grace period takes `ns` instead of baseNs.
     * On this 2-vCPU guest a lone unmount's wait is bimodal, ~7 or ~35 us
     * (docs/validation.md): the idle vCPU sometimes needs no IPI round trip
     * through the host and sometimes does. Null: one length.
     */
    readonly idleFast: { ns: number; share: number } | null = null,
  ) {}

  synchronize(t: SimThread): void {
    if (!this.running) {
      this.current.push(t);
      this.start();
    } else this.next.push(t);
    t.sleep();
  }

  private start(): void {
    this.running = true;
    this.gracePeriods++;
    // CPUs running a thread, other than the caller's: the kernel IPIs the
    // others and does not wait on the CPU that asked.
    let busy = 0;
    for (let c = 0; c < this.m.cpus; c++) if (this.m.scheduler.threadOn(c) !== null) busy++;
    if (busy > 0) busy--;
    let ns = this.baseNs + busy * this.perBusyCpuNs;
    if (busy === 0 && this.idleFast && this.idleFast.share > 0) {
      // Its own stream: drawing here changes no other mechanism's draws.
      this.fastDraws ??= this.m.random.stream('rcu-expedited-idle-fast-path');
      if (this.fastDraws.uniform() < this.idleFast.share) ns = this.idleFast.ns;
    }
    this.m.sim.schedule(ns, this.ender, 0);
  }

  private end(): void {
    const done = this.current;
    this.current = this.next;
    this.next = [];
    this.running = false;
    if (this.current.length > 0) this.start();
    for (const t of done) t.wake();
  }
}

export class KernelMountPath {
  readonly namespaceSem: RwSemaphore;
  readonly mountLock: SeqLock;
  readonly rcu: ExpeditedRcu;
  /** Mounts in the host's mount table (what /proc/self/mountinfo lists). */
  mountTable: number;
  maxMountTable: number;
  /** Path walks that had to retry because a writer moved the sequence. */
  pathRetries = 0;
  pathLookups = 0;
  private readonly flat = new Map<string, FlatStep[]>();
  private readonly percpuNs: number;

  private readonly jitterCv: number;
  private readonly jitterStreams = new Map<SimThread, RandomStream>();

  /**
   * The factor on one piece of `t`'s CPU work (mechanisms.workJitterCv; 1
   * without it). Each thread draws from its own stream, so adding a thread
   * changes no other thread's draws.
   */
  jitter(t: SimThread): number {
    if (this.jitterCv <= 0) return 1;
    let r = this.jitterStreams.get(t);
    if (!r) {
      r = this.m.random.stream(`work-jitter/${t.name}`);
      this.jitterStreams.set(t, r);
    }
    return r.unitLogNormal(this.jitterCv);
  }

  constructor(
    readonly m: Machine,
    readonly kernel: KernelModel,
    baseMounts: number,
  ) {
    this.jitterCv = kernel.mechanisms.workJitterCv?.value ?? 0;
    this.namespaceSem = new RwSemaphore('namespace_sem', m.coherence, { optimisticSpin: kernel.locks.namespace_sem?.optimisticSpin ?? true });
    this.mountLock = new SeqLock('mount_lock', m.coherence, 'qspinlock');
    const cpus = m.cpus;
    const mech = kernel.mechanisms;
    // The sum runs over all *possible* CPUs; on these machines that is every logical CPU.
    this.percpuNs = cpus * mech.percpuSumPerCpuNs.value;
    const fast = mech.rcuExpeditedIdleFastNs && mech.rcuExpeditedIdleFastShare ? { ns: mech.rcuExpeditedIdleFastNs.value, share: mech.rcuExpeditedIdleFastShare.value } : null;
    this.rcu = new ExpeditedRcu(m, mech.rcuExpeditedBaseNs.value, mech.rcuExpeditedPerCpuNs.value, fast);
    this.mountTable = baseMounts;
    this.maxMountTable = baseMounts;
  }

  /** Run syscall `key` for an image of `layers` layers on thread `t`; `prefix` roots its stack labels. */
  *syscall(t: SimThread, prefix: string, key: string, layers: number): Steps {
    const steps = this.flatten(prefix, key, layers);
    t.enterKernel();
    // Inside a forEachMount: how many mounts each pass stands for, and passes left.
    let factor = 1;
    let passesLeft = 0;
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i];
      t.doing(s.activity);
      switch (s.kind) {
        case StepKind.LoopBegin: {
          const mounts = this.mountTable;
          if (mounts <= 0) {
            i = s.value; // skip the body
            continue;
          }
          passesLeft = Math.min(mounts, MOUNT_LOOP_PASSES);
          factor = mounts / passesLeft;
          break;
        }
        case StepKind.LoopEnd:
          if (--passesLeft > 0) {
            i = s.value; // next pass
            continue;
          }
          factor = 1;
          break;
        case StepKind.NsRead:
          yield* this.namespaceSem.downRead(t);
          break;
        case StepKind.NsWrite:
          yield* this.namespaceSem.downWrite(t);
          break;
        case StepKind.NsUpRead:
          yield* this.namespaceSem.upRead(t);
          break;
        case StepKind.NsUpWrite:
          yield* this.namespaceSem.upWrite(t);
          break;
        case StepKind.MountLock:
          yield* this.mountLock.writeLock(t);
          if (factor > 1) {
            // The other factor-1 write sections this pass stands for: each pulls
            // the line back from the path walks that read it in between, at
            // the price this one just paid (waiting behind other writers is
            // already in the simulation, once).
            t.work((factor - 1) * 2 * this.mountLock.lastSequenceWriteNs);
            yield;
          }
          break;
        case StepKind.MountUnlock:
          yield* this.mountLock.writeUnlock(t);
          break;
        case StepKind.Cpu:
          t.work(s.value * factor * this.jitter(t));
          yield;
          break;
        case StepKind.CpuPerMount:
          t.work(s.value * this.mountTable);
          yield;
          break;
        case StepKind.Rcu:
          this.rcu.synchronize(t);
          yield;
          break;
        case StepKind.PathLookup:
          for (let n = 0; n < s.value; n++) yield* this.pathLookup(t, s.activity, s.walk);
          break;
      }
      t.doing(s.after);
    }
    if (t.exitKernel()) {
      t.yieldCpu();
      yield;
    }
  }

  /**
   * One path walk: path_init reads mount_lock's sequence, spinning while a
   * writer holds it; the walk itself; then a retry if the sequence moved.
   * `spinning` and `walking` are the activity labels of the two phases.
   */
  *pathLookup(t: SimThread, spinning: number, walking: number): Steps {
    this.pathLookups++;
    t.enterKernel();
    for (;;) {
      t.doing(spinning);
      const seq = yield* this.mountLock.readBegin(t);
      t.doing(walking);
      t.work(this.kernel.host.pathLookupNs.value);
      yield;
      const moved = yield* this.mountLock.readRetry(t, seq);
      if (!moved) break;
      this.pathRetries++;
    }
    if (t.exitKernel()) {
      t.yieldCpu();
      yield;
    }
  }

  /** Label ids for a path walk outside any syscall (background activity). */
  pathLookupLabels(prefix: string): { spinning: number; walking: number } {
    const a = this.m.activities;
    return { spinning: a.id(`${prefix};path_init;mount_lock;spin`), walking: a.id(`${prefix};path_walk`) };
  }

  private flatten(prefix: string, key: string, layers: number): FlatStep[] {
    const cacheKey = `${prefix}\0${key}\0${layers}`;
    let flat = this.flat.get(cacheKey);
    if (flat) return flat;
    flat = [];
    const names = this.m.activities;
    const held: string[] = [];
    const nsModes: ('read' | 'write')[] = [];
    const label = (leaf: string) => names.id([prefix, key, ...held, leaf].join(';'));
    const inside = () => names.id([prefix, key, ...held].join(';'));
    const costs = this.kernel.costs;
    const visit = (steps: readonly KernelStep[]) => {
      for (const s of steps) {
        switch (s.kind) {
          case 'lock': {
            const isNs = s.lock === 'namespace_sem';
            const activity = label(isNs ? `${s.lock};wait` : `${s.lock};spin`);
            held.push(isNs ? `${s.lock}(${s.mode === 'read' ? 'r' : 'w'})` : s.lock);
            if (isNs) nsModes.push(s.mode);
            flat!.push({ kind: isNs ? (s.mode === 'read' ? StepKind.NsRead : StepKind.NsWrite) : StepKind.MountLock, value: 0, activity, after: inside(), walk: 0 });
            break;
          }
          case 'unlock': {
            const isNs = s.lock === 'namespace_sem';
            const activity = label('release');
            held.pop();
            const mode = isNs ? nsModes.pop() : undefined;
            flat!.push({ kind: isNs ? (mode === 'read' ? StepKind.NsUpRead : StepKind.NsUpWrite) : StepKind.MountUnlock, value: 0, activity, after: inside(), walk: 0 });
            break;
          }
          case 'cpu':
            flat!.push({ kind: StepKind.Cpu, value: costs[s.cost]!.value, activity: label(s.cost), after: inside(), walk: 0 });
            break;
          case 'cpuPerMount':
            flat!.push({ kind: StepKind.CpuPerMount, value: costs[s.cost]!.value, activity: label(s.cost), after: inside(), walk: 0 });
            break;
          case 'percpuSum':
            flat!.push({ kind: StepKind.Cpu, value: this.percpuNs, activity: label('percpu_sum'), after: inside(), walk: 0 });
            break;
          case 'rcuGracePeriod':
            flat!.push({ kind: StepKind.Rcu, value: 0, activity: label('synchronize_rcu_expedited'), after: inside(), walk: 0 });
            break;
          case 'pathLookups':
            // For path walks, `activity` is the spin phase and `after` the walk itself.
            flat!.push({ kind: StepKind.PathLookup, value: s.count, activity: label('path_init;mount_lock;spin'), after: inside(), walk: label('path_walk') });
            break;
          case 'forEachLayer':
            for (let i = 0; i < layers; i++) visit(s.steps);
            break;
          case 'forEachMount': {
            const begin = flat!.length;
            flat!.push({ kind: StepKind.LoopBegin, value: 0, activity: inside(), after: inside(), walk: 0 });
            visit(s.steps);
            flat![begin]!.value = flat!.length;
            flat!.push({ kind: StepKind.LoopEnd, value: begin, activity: inside(), after: inside(), walk: 0 });
            break;
          }
        }
      }
    };
    visit(this.kernel.syscalls[key]!.steps);
    this.flat.set(cacheKey, flat);
    return flat;
  }
}
