/**
 * Hot calls as state machines (issue 14 item 3; docs/architecture.md,
 * "Hot calls as state machines"): the spin-wait, a seqlock's path walk and
 * write section, the qspinlock's acquire, every spinlock's release, a
 * mount syscall's steps and the rw-semaphore's down/up, wake and sleep
 * paths are `CallMachine`s, reused by each thread for its every call, instead of
 * a generator per call. They must take exactly the steps of the generators
 * they replaced (kept here as the reference), and must be reused.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Machine } from '../src/machine.ts';
import { handMadeSpec } from './helpers/machines.ts';
import { CallMachine, DONE, WAIT, type Call, type SimThread, type Steps } from '../src/cpu/thread.ts';
import { CoherenceFabric, type CacheLine, type SpinCondition, type StoreWrite } from '../src/hardware/coherence.ts';
import { SeqLock } from '../src/locks/seqlock.ts';
import { RwSemaphore, type RwMode, type Waiter } from '../src/locks/rwsem.ts';
import { QueuedSpinLock, TtasLock } from '../src/locks/spinlock.ts';
import { KernelMountPath, StepKind, type FlatStep } from '../src/workload/kernelPath.ts';
import { loadKernelModel } from '../src/workload/kernelModel.ts';
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { buildTopology } from '../src/hardware/topology.ts';
import { machineSpecFromTopology } from '../src/hardware/machineSpec.ts';
import { buildLaunchTrace, simulateLaunch } from '../src/workload/launch.ts';
import { launchSchema } from '../src/workload/launchParams.ts';
import { runLockMicrobench } from '../src/bench/lockMicrobench.ts';

// ---- the generators the machines replaced (commit 612a986), as the reference ----

function* spinWhileGen(this: CoherenceFabric, t: SimThread, line: CacheLine, cond: SpinCondition): Steps {
  while (cond.waiting()) {
    if (this.detailed) {
      this.watch(t, line);
      yield;
      if (this.load(t, line)) yield;
      continue;
    }
    this.spinUntil(t, line, cond);
    yield;
    if (t.reread) {
      t.reread = false;
      if (this.load(t, line)) yield;
    }
  }
}

function* readGen(this: SeqLock, t: SimThread, workNs: number, spinning = -1, reading = -1): Steps<number> {
  const coh = (this as unknown as { coh: CoherenceFabric }).coh, line = this.line, stats = this.stats;
  for (let retries = 0; ; retries++) {
    if (spinning >= 0) t.doing(spinning);
    stats.readerBegins++;
    if (coh.load(t, line)) yield;
    if (this.writing) {
      stats.readerSpins++;
      const since = t.localNow;
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

function* writeLockGen(this: SeqLock, t: SimThread): Steps {
  const coh = (this as unknown as { coh: CoherenceFabric }).coh;
  yield this.lock.acquire(t);
  const since = t.localNow;
  if (coh.rmw(t, this.line)) yield;
  this.sequenceOdd(t, since);
}

function* writeUnlockGen(this: SeqLock, t: SimThread): Steps {
  const coh = (this as unknown as { coh: CoherenceFabric }).coh;
  if (coh.store(t, this.sequenceEven)) yield;
  yield this.lock.release(t);
}

function* qAcquireGen(this: QueuedSpinLock, t: SimThread): Steps {
  if (this.coh.rmw(t, this.line)) yield;
  if (this.tryFast(t)) return;
  const me = this.joinQueue(t);
  if (!me.head) {
    if (this.coh.rmw(t, this.predecessor().line)) yield;
    if (this.coh.load(t, me.line)) yield;
    yield this.coh.spinWhile(t, me.line, me);
  }
  for (;;) {
    if (this.coh.load(t, this.line)) yield;
    yield this.coh.spinWhile(t, this.line, this);
    if (this.coh.rmw(t, this.line)) yield;
    if (!this.held) break;
  }
  const succ = this.takeAsHead(t);
  if (succ !== null) {
    if (this.coh.rmw(t, succ.line)) yield;
    this.passHead(t, succ);
  }
  this.compact();
}

function* releaseGen(this: StoreWrite & { coh: CoherenceFabric }, t: SimThread): Steps {
  if (this.coh.store(t, this)) yield;
}

function* syscallGen(this: KernelMountPath, t: SimThread, prefix: string, key: string, layers: number): Steps {
  const steps: FlatStep[] = this.flatten(prefix, key, layers);
  t.enterKernel();
  let factor = 1;
  let passesLeft = 0;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    t.doing(s.activity);
    switch (s.kind) {
      case StepKind.LoopBegin: {
        const passes = this.loopPasses();
        if (passes <= 0) {
          i = s.value;
          continue;
        }
        passesLeft = passes;
        factor = this.mountTable / passes;
        break;
      }
      case StepKind.LoopEnd:
        if (--passesLeft > 0) {
          i = s.value;
          continue;
        }
        factor = 1;
        break;
      case StepKind.RwRead:
        yield s.rw!.downRead(t);
        break;
      case StepKind.RwWrite:
        yield s.rw!.downWrite(t);
        break;
      case StepKind.RwUpRead:
        yield s.rw!.upRead(t);
        break;
      case StepKind.RwUpWrite:
        yield s.rw!.upWrite(t);
        break;
      case StepKind.SeqWrite:
        yield s.seq!.writeLock(t);
        if (factor > 1) {
          t.work((factor - 1) * 2 * s.seq!.lastSequenceWriteNs);
          yield;
        }
        break;
      case StepKind.SeqUnlock:
        yield s.seq!.writeUnlock(t);
        break;
      case StepKind.PerPeer: {
        const ns = this.perPeerNs(s);
        if (ns >= 0) {
          t.work(ns);
          yield;
        }
        break;
      }
      case StepKind.JoinPeerGroup:
        this.joinPeerGroup(t);
        break;
      case StepKind.LeavePeerGroup:
        this.leavePeerGroup(t);
        break;
      case StepKind.Cpu:
      case StepKind.CpuPerMount:
        i = this.cpuSteps(t, steps, i, factor);
        yield;
        t.doing(steps[i].after);
        continue;
      case StepKind.Rcu:
        yield this.rcu.synchronize(t);
        break;
      case StepKind.PathLookup:
        for (let n = 0; n < s.value; n++) {
          this.pathLookups++;
          const retries = (yield this.mountLock.read(t, this.kernel.host.pathLookupNs.value, s.activity, s.walk)) as number;
          this.pathRetries += retries;
        }
        break;
    }
    t.doing(s.after);
  }
  if (t.exitKernel()) {
    t.yieldCpu();
    yield;
  }
}

// The rw-semaphore's (612a986), its private members reached through `Rw`.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Rw = any;
function* rwDownReadGen(this: Rw, t: SimThread): Steps {
  const start = t.localNow;
  // Fast path: one atomic add of a reader bias; it fails on a writer or waiters.
  if (this.coh.rmw(t, this.countLine)) yield;
  if (this.writer === null && this.waiting === 0) {
    this.readers++;
    this.coh.publish(t, this.countLine);
    this.stats.fastPath.read++;
    this.acquired(t, 'read', start);
    return;
  }
  // Reader optimistic lock stealing (rwsem_down_read_slowpath(), Linux
  // 5.11+, "locking/rwsem: Enable reader optimistic
  // lock stealing"): with sleepers waiting but no writer holding the lock,
  // no handoff pending and no other reader holding it (the kernel queues a
  // reader when rcnt > 1 on a reader-owned lock, so a stream of readers
  // cannot starve a writer), the reader keeps the bias it just added and
  // owns the lock; the woken writer retries later. Without it, an overlay
  // mount's 50 clone_private_mount down_reads each queue behind writers
  // in a storm, where Linux takes them between the writers.
  if (this.params.handoff === 'steal' && this.free() && this.handoffTo === null) {
    this.readers++;
    this.coh.publish(t, this.countLine);
    this.acquired(t, 'read', start);
    return;
  }
  yield this.queueAndSleep(t, 'read', start);
}

function* rwUpReadGen(this: Rw, t: SimThread): Steps {
  if (this.coh.rmw(t, this.countLine)) yield;
  if (this.readers <= 0) throw new Error(`${this.name}: up_read by ${t.name} without readers`);
  this.readers--;
  if (this.params.handoff === 'steal') {
    this.coh.publish(t, this.countLine);
    if (this.readers === 0 && this.waiting > 0) yield this.wakeLater(t);
    return;
  }
  const woken = this.readers === 0 ? this.grant() : [];
  this.coh.publish(t, this.countLine);
  if (woken.length > 0) yield this.wakeUp(t, woken);
}

function* rwDownWriteGen(this: Rw, t: SimThread): Steps {
  const start = t.localNow;
  // Fast path: cmpxchg(count, 0, WRITER_LOCKED).
  if (this.coh.rmw(t, this.countLine)) yield;
  if (this.free() && this.waiting === 0) {
    this.writer = t;
    this.coh.publish(t, this.countLine);
    this.stats.fastPath.write++;
    this.acquired(t, 'write', start);
    return;
  }
  if (this.params.optimisticSpin && this.canSpin()) {
    if ((yield this.optimisticSpin(t)) as boolean) {
      this.stats.spinAcquisitions++;
      this.acquired(t, 'write', start);
      return;
    }
  }
  yield this.queueAndSleep(t, 'write', start);
}

function* rwUpWriteGen(this: Rw, t: SimThread): Steps {
  if (this.coh.rmw(t, this.countLine)) yield;
  if (this.writer !== t) throw new Error(`${this.name}: up_write by ${t.name}, owner ${this.writer?.name ?? 'none'}`);
  this.writer = null;
  if (this.params.handoff === 'steal') {
    this.coh.publish(t, this.countLine);
    if (this.waiting > 0) yield this.wakeLater(t);
    return;
  }
  const woken = this.grant();
  this.coh.publish(t, this.countLine);
  if (woken.length > 0) yield this.wakeUp(t, woken);
}

function* rwWakeLaterGen(this: Rw, t: SimThread): Steps {
  yield this.waitLock.acquire(t);
  // rwsem_mark_wake sets the handoff flag for a reader at the head that has
  // waited too long; a writer sets it itself when its own try fails.
  const head = this.waiting > 0 ? this.waitList[this.waitHead] : null;
  if (head && head.mode === 'read' && this.handoffTo === null && t.localNow - head.since >= this.params.handoffAfterNs) this.handoffTo = head;
  const woken = this.grant();
  if (woken.length > 0) {
    if (this.coh.rmw(t, this.countLine)) yield;
    this.coh.publish(t, this.countLine);
  }
  yield this.waitLock.release(t);
  if (woken.length > 0) yield this.wakeUp(t, woken, false);
}

function* rwQueueAndSleepGen(this: Rw, t: SimThread, mode: RwMode, start: number): Steps {
  yield this.waitLock.acquire(t);
  // Setting RWSEM_FLAG_WAITERS (and, for a reader, undoing its bias): one atomic.
  if (this.coh.rmw(t, this.countLine)) yield;
  const canTake = mode === 'read' ? this.writer === null : this.free();
  if (canTake && this.waiting === 0) {
    if (mode === 'read') this.readers++;
    else this.writer = t;
    this.coh.publish(t, this.countLine);
    yield this.waitLock.release(t);
    this.acquired(t, mode, start);
    return;
  }
  let line = this.waiterLines.get(t);
  if (!line) {
    line = this.coh.newLine(`${this.name}.waiter.${t.name}`);
    this.waiterLines.set(t, line);
  }
  const me: Waiter = { t, mode, granted: false, wokenToTry: false, sleeping: false, line, since: start };
  this.waitList.push(me);
  this.coh.publish(t, this.countLine);
  yield this.waitLock.release(t);
  this.stats.sleeps[mode]++;
  for (;;) {
    while (!me.granted && !me.wokenToTry) {
      me.sleeping = true;
      t.sleep();
      yield;
    }
    if (me.granted) break;
    // Woken to try ('steal' handoff): rwsem_try_write_lock on the count.
    me.wokenToTry = false;
    if (this.coh.rmw(t, this.countLine)) yield;
    // A release may have granted it meanwhile (the handoff flag was set for it).
    if (me.granted) break;
    if (this.free() && (this.handoffTo === null || this.handoffTo === me)) {
      if (this.waitList[this.waitHead] !== me) throw new Error(`${this.name}: woken writer ${t.name} is not the head waiter`);
      this.waitHead++;
      this.handoffTo = null;
      this.writer = t;
      this.coh.publish(t, this.countLine);
      this.acquired(t, mode, start);
      return;
    }
    // Lost it to a spinner: after waiting long enough, claim the next handoff.
    if (this.handoffTo === null && t.localNow - start >= this.params.handoffAfterNs) this.handoffTo = me;
    this.coh.publish(t, this.countLine);
  }
  // Woken: see the grant in our waiter node; a writer also sets the owner field.
  if (this.coh.load(t, me.line)) yield;
  if (mode === 'write') {
    if (this.coh.rmw(t, this.countLine)) yield;
    this.coh.publish(t, this.countLine);
  }
  this.acquired(t, mode, start);
}

type Patch = [object, string, unknown];
const patches: Patch[] = [
  [CoherenceFabric.prototype, 'spinWhile', spinWhileGen],
  [SeqLock.prototype, 'read', readGen],
  [SeqLock.prototype, 'writeLock', writeLockGen],
  [SeqLock.prototype, 'writeUnlock', writeUnlockGen],
  [QueuedSpinLock.prototype, 'acquire', qAcquireGen],
  [QueuedSpinLock.prototype, 'release', releaseGen],
  // ExchangeLock (TAS, TTAS) has its release on the abstract base class.
  [Object.getPrototypeOf(TtasLock.prototype), 'release', releaseGen],
  [KernelMountPath.prototype, 'syscall', syscallGen],
  [RwSemaphore.prototype, 'downRead', rwDownReadGen],
  [RwSemaphore.prototype, 'upRead', rwUpReadGen],
  [RwSemaphore.prototype, 'downWrite', rwDownWriteGen],
  [RwSemaphore.prototype, 'upWrite', rwUpWriteGen],
  [RwSemaphore.prototype, 'wakeLater', rwWakeLaterGen],
  [RwSemaphore.prototype, 'queueAndSleep', rwQueueAndSleepGen],
];
const saved = patches.map(([proto, key]) => (proto as Record<string, unknown>)[key]);

function useGenerators(on: boolean): void {
  patches.forEach(([proto, key, gen], i) => {
    (proto as Record<string, unknown>)[key] = on ? gen : saved[i];
  });
}

afterEach(() => useGenerators(false));

/** `fn` run with the state machines and with the generators they replaced. */
function bothWays<T>(fn: () => T): { machines: T; generators: T } {
  useGenerators(false);
  const machines = fn();
  useGenerators(true);
  try {
    return { machines, generators: fn() };
  } finally {
    useGenerators(false);
  }
}

describe('a CallMachine', () => {
  it('is run by the thread like a generator: it waits for wakes, calls, and returns its value', () => {
    class Twice extends CallMachine<number> {
      private x = 0;
      constructor(private readonly thread: SimThread) {
        super();
      }
      start(x: number): this {
        this.t = this.thread;
        this.x = x;
        this.state = 0;
        return this;
      }
      next(value?: unknown): IteratorResult<Call | void, number> {
        switch (this.state++) {
          case 0:
            this.t!.work(10);
            return WAIT;
          case 1:
            this.call.value = inner(this.t!, this.x);
            return this.call;
          default:
            return { done: true, value: 2 * (value as number) };
        }
      }
    }
    function* inner(t: SimThread, x: number): Steps<number> {
      t.work(5);
      yield;
      return x + 1;
    }
    const m = new Machine(handMadeSpec('mesh', 1, 2, 1), { seed: 'cm' });
    const seen: [number, number][] = [];
    m.spawn('t', function* (t) {
      const c = new Twice(t);
      seen.push([(yield c.start(1)) as number, t.sim.now]);
      seen.push([yield* c.start(4), t.sim.now]); // works with yield* too
    });
    m.sim.run();
    expect(seen).toEqual([[4, 15], [10, 30]]);
    expect(DONE.done && !WAIT.done).toBe(true);
  });

  it('is one object per thread and call site, reused for every call (no generator per call)', () => {
    const m = new Machine(handMadeSpec('mesh', 1, 2, 1), { seed: 'reuse' });
    const sl = new SeqLock('mount_lock', m.coherence);
    const q = new QueuedSpinLock('q', m.coherence);
    const calls: Call[][] = [];
    const threads = ['a', 'b'].map((name) => m.spawn(name, function* (t) {
      const mine: Call[] = [];
      for (let i = 0; i < 3; i++) {
        const r = sl.read(t, 10);
        mine.push(r);
        yield r;
        const a = q.acquire(t);
        mine.push(a);
        yield a;
        const rel = q.release(t);
        mine.push(rel);
        yield rel;
        const s = m.coherence.spinWhile(t, sl.line, sl);
        mine.push(s);
        yield s;
      }
      calls.push(mine);
    }));
    m.sim.run();
    expect(threads.every((t) => t.state === 4)).toBe(true);
    for (const mine of calls) {
      for (let k = 0; k < 4; k++) expect(new Set([mine[k], mine[k + 4], mine[k + 8]]).size).toBe(1);
    }
    expect(calls[0][0]).not.toBe(calls[1][0]);
  });
});

describe('the state machines take the steps of the generators they replaced', () => {
  it('mount syscalls on eight threads, mesh and chiplet, herds and detailed spinners', () => {
    for (const fabric of ['mesh', 'chiplet'] as const) {
      for (const detailed of [false, true]) {
        const { machines, generators } = bothWays(() => {
          const m = new Machine(handMadeSpec(fabric, 1, 8, 2), { seed: 'sm' });
          m.coherence.detailed = detailed;
          const path = new KernelMountPath(m, loadKernelModel('linux-6.6'), 40);
          const log: string[] = [];
          for (let i = 0; i < 8; i++) {
            m.spawn(`c${i}`, function* (t) {
              for (let n = 0; n < 15; n++) {
                yield path.syscall(t, 'containerd', 'open_tree', 2);
                yield path.syscall(t, 'containerd', 'move_mount', 2);
                log.push(`${t.name}:${n}@${t.sim.now}`);
              }
            });
          }
          m.sim.run();
          return { log, events: m.sim.eventsFired, seq: { ...path.mountLock.stats }, coh: { ...m.coherence.stats }, retries: path.pathRetries };
        });
        expect(machines.seq.readerSpins).toBeGreaterThan(0);
        expect(machines.seq.readerRetries).toBeGreaterThan(0);
        expect(machines).toEqual(generators);
      }
    }
  });

  it('rw-semaphore readers and writers, both handoff modes, with and without optimistic spinning', () => {
    for (const handoff of ['steal', 'direct'] as const) {
      for (const optimisticSpin of [true, false]) {
        const { machines, generators } = bothWays(() => {
          const m = new Machine(handMadeSpec('chiplet', 1, 8, 2, 2), { seed: `rw-${handoff}-${optimisticSpin}` });
          const sem = new RwSemaphore('namespace_sem', m.coherence, { handoff, optimisticSpin, handoffAfterNs: 20_000, wakeWorkNs: 300 });
          const log: string[] = [];
          for (let i = 0; i < 12; i++) {
            m.spawn(`t${i}`, function* (t) {
              for (let n = 0; n < 25; n++) {
                const write = t.rng.uniform() < 0.4;
                yield write ? sem.downWrite(t) : sem.downRead(t);
                t.work(200 + 800 * t.rng.uniform());
                yield;
                yield write ? sem.upWrite(t) : sem.upRead(t);
                log.push(`${t.name}:${write ? 'w' : 'r'}${n}@${t.sim.now}`);
                t.work(300 * t.rng.uniform());
                yield;
              }
            });
          }
          m.sim.run();
          return { log, events: m.sim.eventsFired, stats: structuredClone(sem.stats) };
        });
        expect(machines.stats.sleeps.write + machines.stats.sleeps.read).toBeGreaterThan(0);
        if (optimisticSpin) expect(machines.stats.spins).toBeGreaterThan(0);
        expect(machines).toEqual(generators);
      }
    }
  });

  it('a launch point (r5.metal, 20 containers x 10 layers)', () => {
    const spec = machineSpecFromTopology(buildTopology(loadHardwareModel('r5.metal')));
    const kernel = loadKernelModel('linux-6.6');
    const params = launchSchema.parse({ containers: [20], variant: 'per-layer-idmap', layers: 10 });
    const { machines, generators } = bothWays(() => {
      const m = new Machine(spec, { seed: 'sm', placement: 'spread' });
      return simulateLaunch(m, kernel, params, buildLaunchTrace(params, 20, kernel, 'sm')).metrics;
    });
    expect(machines.mountOps).toBeGreaterThan(0);
    expect(machines).toEqual(generators);
  });

  it('lock microbenchmarks (tas, ttas, qspinlock)', () => {
    const spec = handMadeSpec('chiplet', 1, 8, 2, 2);
    for (const lock of ['tas', 'ttas', 'qspinlock'] as const) {
      const p = { lock, threads: 6, criticalSectionNs: 100, thinkNs: 200, distribution: 'exponential' as const, durationNs: 1_000_000, placement: 'scatter' as const };
      const { machines, generators } = bothWays(() => runLockMicrobench(spec, p, 'sm'));
      expect(machines.acquisitions).toBeGreaterThan(100);
      expect(machines).toEqual(generators);
    }
  });
});
