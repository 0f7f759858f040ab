/**
 * A burst of container launches on one machine: the heart of locksim.
 *
 * Each container is one containerd thread that replays its ops from the trace
 * (generated for the runtime variant, or recorded), each op being containerd's
 * own CPU work plus the syscall's steps from the kernel model, then the
 * container's start (runc and its first process: CPU work and path walks).
 * Around them the host keeps living:
 *  - path walks by everything else on the machine, which are mount_lock
 *    seqlock readers: they spin while a mount writer holds it;
 *  - a systemd-like consumer that re-reads the whole mount table on every
 *    mount event (reading takes namespace_sem for read per read() buffer);
 *  - kubelet polling containerd over CRI; containerd answers after looking up
 *    its mounts in the mount table.
 * A launch slower than the health-check timeout is a failure.
 */
import type { Machine } from '../machine.ts';
import type { SimThread } from '../cpu/thread.ts';
import { Samples, mean, percentile } from '../bench/stats.ts';
import { generateTrace, countMountOps } from './generators.ts';
import { syscallKeyForOp, type KernelModel } from './kernelModel.ts';
import { KernelMountPath } from './kernelPath.ts';
import { ReaderPressure } from '../hardware/readerPressure.ts';
import type { LaunchParams } from './launchParams.ts';
import { OP_NAMES, TraceOpsBuilder, mountTableDelta, opAt, parseTrace, type Trace } from './trace.ts';
import { readInputFile } from '../config/yamlLoad.ts';

export interface LaunchResult {
  metrics: Record<string, number>;
  /** Folded stacks of simulated on-CPU time (µs), for flamegraph.pl / speedscope. */
  folded: string;
  /** With `recordOpDurations`: each op kind's call durations (ns, syscall entry to return), as a traced probe run records them. */
  opDurations?: Record<string, number[]>;
}

export interface LaunchOptions {
  /** Keep every op's duration by op kind (calibration compares them with a probe's trace). */
  recordOpDurations?: boolean;
}


export function buildLaunchTrace(params: LaunchParams, containers: number, kernel: KernelModel, seed: string): Trace {
  if (params.trace !== undefined) return firstContainers(loadTraceFile(params.trace), containers);
  const arrival = params.arrival.kind === 'schedule' ? { kind: 'schedule' as const, atNs: params.arrival.atNs.slice(0, containers) } : params.arrival;
  return generateTrace({
    variant: params.variant!,
    containers,
    layers: params.layers,
    imageMix: params.imageMix,
    arrival,
    seed,
    mountOptionLimitBytes: kernel.mountOptionLimitBytes.value,
  });
}

/** Recorded traces, parsed once per process (a sweep replays one trace at several sizes). */
const traceCache = new Map<string, Trace>();
export function loadTraceFile(file: string): Trace {
  let trace = traceCache.get(file);
  if (!trace) {
    trace = parseTrace(readInputFile(file, 'a readable trace file (JSON Lines, docs/trace-format.md)'), file);
    traceCache.set(file, trace);
  }
  return trace;
}

/** The trace restricted to its first `k` containers (in header order), their ops in trace order. */
export function firstContainers(trace: Trace, k: number): Trace {
  const n = trace.header.containers.length;
  if (k > n) throw new RangeError(`the trace has ${n} containers, ${k} asked`);
  if (k === n) return trace;
  const b = new TraceOpsBuilder(trace.ops.count);
  for (let i = 0; i < trace.ops.count; i++) if (trace.ops.container[i] < k) b.push(opAt(trace.ops, i));
  return { header: { ...trace.header, containers: trace.header.containers.slice(0, k) }, ops: b.finish() };
}

export function simulateLaunch(m: Machine, kernel: KernelModel, params: LaunchParams, trace: Trace, opts: LaunchOptions = {}): LaunchResult {
  const opDurations: Record<string, number[]> | undefined = opts.recordOpDurations ? {} : undefined;
  const host = params.host;
  const path = new KernelMountPath(m, kernel, host.baseMounts, {
    layerParentShared: host.layerParentShared,
    setsPropagation: host.idmapPropagation === 'private',
    ringStepCostFactor: host.ringStepCostFactor,
    slaveNamespaces: host.slaveNamespaces,
  });
  const prop = kernel.propagation;
  const lineBytes = prop?.mountinfoLineBytes.value ?? 0;
  const overlayBytesPerLayer = prop?.overlayLineBytesPerLayer.value ?? 0;
  const { containers } = trace.header;
  const ops = trace.ops;
  const names = m.activities;

  // Ops of each container, in trace order.
  const opsOf: number[][] = containers.map(() => []);
  for (let i = 0; i < ops.count; i++) opsOf[ops.container[i]].push(i);

  const launchNs = new Float64Array(containers.length).fill(NaN);
  const rootfsNs = new Float64Array(containers.length).fill(NaN);
  let remaining = containers.length;
  const lastArrival = containers.reduce((mx, c) => Math.max(mx, c.start_ns), 0);
  const horizon = lastArrival + params.horizonNs;

  // ---- systemd: re-reads the mount table after mount events --------------
  let systemdDirty = false;
  let systemdThread: SimThread | null = null;
  let systemdWaiting = false;
  const mountinfoReads = new Samples();
  /** Every full read of the table by any reader (systemd, containerd for kubelet, runc). */
  const tableReads = new Samples();
  /** Reads not finished yet, by reader, with their start: one still running at the horizon is the slowest of all. */
  const readsInFlight = new Map<SimThread, number>();
  const notifyMountWatchers = () => {
    systemdDirty = true;
    if (systemdThread && systemdWaiting) {
      systemdWaiting = false;
      systemdThread.wake();
    }
  };

  /**
   * Read /proc/self/mountinfo: each read() is one seq_file pass (m_start
   * takes namespace_sem for read, queueing behind waiting writers; m_stop
   * drops it) that shows lines until the reader's buffer is full, then the
   * parse. In a slave namespace each slave line's show_mountinfo calls
   * get_dominating_id (fs/pnode.c), which walks its master's whole peer ring.
   */
  function* readMountinfo(t: SimThread, wait: number, kernelRead: number, parse: number, perLineParseNs: number, reader: { readBytes: number; slave: boolean }) {
    const linesPerRead = kernel.host.mountinfoLinesPerRead.value;
    const began = t.sim.now;
    readsInFlight.set(t, began);
    let done = 0;
    // The table may change while it is read; seq_file walks what is there at each read().
    while (done < path.mountTable) {
      // Without the propagation section, a fixed number of lines per read().
      const lines = Math.min(path.mountTable - done, prop ? path.linesPerRead(reader.readBytes) : linesPerRead);
      t.enterKernel(); // one read() syscall
      t.doing(wait);
      yield* path.namespaceSem.downRead(t);
      t.doing(kernelRead);
      t.work(path.showMountinfoNs(lines, reader.slave));
      yield;
      yield* path.namespaceSem.upRead(t);
      if (t.exitKernel()) {
        t.yieldCpu();
        yield;
      }
      done += lines;
    }
    // libmount reads the table, then parses it: the user-space share in one piece.
    if (perLineParseNs > 0) {
      t.doing(parse);
      t.work(done * perLineParseNs);
      yield;
    }
    readsInFlight.delete(t);
    tableReads.push(t.sim.now - began);
  }

  if (host.systemd) {
    const wait = names.id('systemd;mountinfo;namespace_sem(r);wait');
    const read = names.id('systemd;mountinfo;namespace_sem(r);show_mountinfo');
    const parse = names.id('systemd;mount_load_proc_self_mountinfo');
    // sd_event's rate limit: at most `burst` dispatches in each interval.
    const intervalNs = 1e9;
    const burst = 5;
    let windowStart = 0;
    let dispatched = 0;
    systemdThread = m.spawn('systemd', function* (t) {
      for (;;) {
        if (!systemdDirty) {
          systemdWaiting = true;
          t.sleep();
          yield;
        }
        if (host.systemdRateLimit) {
          if (t.sim.now >= windowStart + intervalNs) {
            windowStart = t.sim.now;
            dispatched = 0;
          }
          if (dispatched >= burst) {
            // The event source is off until the interval ends; events meanwhile are coalesced.
            t.sleepFor(windowStart + intervalNs - t.sim.now);
            yield;
            windowStart = t.sim.now;
            dispatched = 0;
          }
          dispatched++;
        }
        systemdDirty = false;
        const start = t.sim.now;
        yield* readMountinfo(t, wait, read, parse, kernel.host.mountinfoProcessPerMountNs.value, { readBytes: host.systemdReadBytes, slave: false });
        mountinfoReads.push(t.sim.now - start);
      }
    });
  }

  // ---- kubelet -> containerd CRI polls --------------------------------------
  const criLatencies = new Samples();
  // An infinite interval is no kubelet at all (the kubelet-cri ablation).
  if (Number.isFinite(host.criIntervalNs)) {
    const wait = names.id('containerd;cri;mountinfo;namespace_sem(r);wait');
    const read = names.id('containerd;cri;mountinfo;namespace_sem(r);show_mountinfo');
    const parse = names.id('containerd;cri;mountinfo_parse');
    // containerd parses far less per line than systemd (it only matches mount points).
    const parseNs = kernel.host.mountinfoProcessPerMountNs.value / 8;
    m.spawn('kubelet', function* (t) {
      for (;;) {
        t.sleepFor(host.criIntervalNs);
        yield;
        const start = t.sim.now;
        yield* readMountinfo(t, wait, read, parse, parseNs, { readBytes: host.goReadBytes, slave: false });
        criLatencies.push(t.sim.now - start);
      }
    });
  }

  // ---- background path walks: reader pressure on mount_lock's line -----------
  let activeLaunches = 0;
  const perLaunch = host.pathLookupsPerSecPerLaunch * 1e-9;
  const base = host.pathLookupsPerSec * 1e-9;
  const pressure = new ReaderPressure((_now) => base + perLaunch * activeLaunches, m.random.stream('background-readers'));
  path.mountLock.line.pressure = base > 0 || perLaunch > 0 ? pressure : null;
  let launchTimeNs = 0;
  // The background's CPU demand (its walks and its spinning) is sampled every
  // 100 us; with the simulated threads' demand it sets the fair-share slowdown.
  if (path.mountLock.line.pressure) {
    const periodNs = 100_000;
    const walkNs = kernel.host.pathLookupNs.value;
    let lastSpin = 0;
    const sampler = {
      fire: () => {
        const spin = pressure.spinNs - lastSpin;
        lastSpin = pressure.spinNs;
        const walks = (base + perLaunch * activeLaunches) * periodNs * walkNs;
        // A closed population: walkers spinning on the sequence hold their
        // CPUs and issue no new walks, so the background can take at most
        // every CPU, however long mount_lock stays odd.
        const backgroundCpus = Math.min(m.cpus, (spin + walks) / periodNs);
        // Bounded only to keep a runaway finite; the bound is far above any sane run.
        m.scheduler.sharedCpuFactor = Math.min(1000, Math.max(1, (backgroundCpus + m.scheduler.demand) / m.cpus));
        m.sim.schedule(periodNs, sampler, 0);
      },
    };
    m.sim.schedule(periodNs, sampler, 0);
  }

  // Other work on the machine: a woken thread sometimes waits behind it for a CPU.
  waitBehindOtherWork(m, kernel, host.backgroundRunnable);

  // ---- the containers --------------------------------------------------------------
  const runtimeWork = names.id('containerd;runtime', { phase: 'runtime', inLock: false, inSeqlock: false });
  const startWork = names.id('runc;container_start', { phase: 'start', inLock: false, inSeqlock: false });
  const startLabels = path.pathLookupLabels('runc;container_start');
  const perOpNs = kernel.host.runtimePerOpNs.value;
  const startWorkNs = kernel.host.runtimeStartNs?.value ?? 0;
  const startLatencyNs = kernel.host.runtimeStartLatencyNs?.value ?? 0;
  const overlayPerLayerNs = kernel.host.runtimeOverlayPerLayerNs?.value ?? 0;
  const startNs = host.containerStartNs ?? kernel.host.containerStartNs.value;
  const startLookups = host.containerStartPathLookups;
  const startSteps = host.containerStartMounts ? kernel.containerStart?.steps : undefined;
  const runcMountinfo = {
    wait: names.id('runc;mountinfo;namespace_sem(r);wait'),
    read: names.id('runc;mountinfo;namespace_sem(r);show_mountinfo'),
    parse: names.id('runc;mountinfo_parse'),
  };

  const runcReads = new Samples();
  const runcReader = { readBytes: host.goReadBytes, slave: true };
  function* runcReadMountinfo(t: SimThread, parsePerLineNs: number) {
    const start = t.sim.now;
    yield* readMountinfo(t, runcMountinfo.wait, runcMountinfo.read, runcMountinfo.parse, parsePerLineNs, runcReader);
    runcReads.push(t.sim.now - start);
  }
  const runcParseNs = kernel.costs.runcMountinfoParseNs?.value ?? 0;

  const spawnContainer = (ci: number) => {
    const c = containers[ci];
    activeLaunches++;
    // The next move_mount attaches an fsmount'ed overlay (fsconfig variant), not a bind.
    let overlayPending = false;
    m.spawn(`containerd-${c.id}`, function* (t) {
      if (startLatencyNs > 0) {
        t.sleepFor(startLatencyNs);
        yield;
      }
      if (startWorkNs > 0) {
        t.doing(runtimeWork);
        t.work(startWorkNs * path.jitter(t));
        yield;
      }
      for (const i of opsOf[ci]) {
        const op = OP_NAMES[ops.op[i]];
        t.doing(runtimeWork);
        t.work((op === 'mount_overlay' ? perOpNs + overlayPerLayerNs * c.layers : perOpNs) * path.jitter(t));
        yield;
        const key = syscallKeyForOp(op, ops.layer[i] >= 0, ops.path.has(i));
        const called = t.sim.now;
        yield* path.syscall(t, 'containerd', key, c.layers);
        if (opDurations) (opDurations[op] ??= []).push(t.sim.now - called);
        const delta = mountTableDelta(op);
        if (delta !== 0) {
          path.mountTable += delta;
          if (path.mountTable > path.maxMountTable) path.maxMountTable = path.mountTable;
          const overlay = op === 'mount_overlay' || (op === 'move_mount' && overlayPending);
          path.mountTableBytes += delta * (lineBytes + (overlay ? overlayBytesPerLayer * c.layers : 0));
          if (op === 'move_mount') {
            if (!overlayPending) path.attachClone(t);
            overlayPending = false;
          }
        }
        if (op === 'fsmount') overlayPending = true;
        if (kernel.syscalls[key].notifiesMountWatchers) notifyMountWatchers();
      }
      rootfsNs[ci] = t.sim.now - c.start_ns;
      // runc's mount namespace: each step costs in proportion to the host's table now.
      if (startSteps) {
        for (const step of startSteps) {
          if ('syscall' in step) for (let n = 0; n < (step.count ?? 1); n++) yield* path.syscall(t, 'runc', step.syscall, c.layers);
          else yield* runcReadMountinfo(t, kernel.costs[step.readMountinfo.parsePerLine]!.value);
        }
      } else if (host.runcReadsMountinfo && prop) yield* runcReadMountinfo(t, runcParseNs);
      // runc and the first process: CPU work with path walks spread through it.
      const chunk = startNs / (startLookups + 1);
      for (let k = 0; k <= startLookups; k++) {
        if (chunk > 0) {
          t.doing(startWork);
          t.work(chunk);
          yield;
        }
        if (k < startLookups) yield* path.pathLookup(t, startLabels.spinning, startLabels.walking);
      }
      t.doing(names.id('idle'));
      launchNs[ci] = t.sim.now - c.start_ns;
      activeLaunches--;
      launchTimeNs += launchNs[ci];
      if (--remaining === 0) t.sim.stop();
    });
  };
  containers.forEach((c, ci) => {
    if (c.start_ns <= 0) spawnContainer(ci);
    else m.sim.scheduleAt(c.start_ns, { fire: () => spawnContainer(ci) }, 0);
  });

  m.sim.run(horizon);
  const end = m.sim.now;
  m.ledger.flush(end);
  return { metrics: launchMetrics(), folded: foldedStacks(), ...(opDurations ? { opDurations } : {}) };

  function launchMetrics(): Record<string, number> {
    const timeout = params.healthCheckTimeoutNs;
    const lat = new Samples();
    let ok = 0;
    for (let i = 0; i < containers.length; i++) {
      // A launch still running at the horizon counts at the horizon (censored): it failed.
      const x = Number.isNaN(launchNs[i]) ? horizon - containers[i].start_ns : launchNs[i];
      lat.push(x);
      if (!Number.isNaN(launchNs[i]) && launchNs[i] <= timeout) ok++;
    }
    const sorted = lat.sorted();
    const rootfs = Array.from(rootfsNs).filter((x) => !Number.isNaN(x));
    const reads = mountinfoReads.sorted();
    const cri = criLatencies.sorted();
    const counts = countMountOps(trace);
    const time = breakdown();
    const s = 1e-9;
    return {
      launchMeanS: mean(sorted) * s,
      launchP50S: percentile(sorted, 50) * s,
      launchP95S: percentile(sorted, 95) * s,
      launchP99S: percentile(sorted, 99) * s,
      launchMaxS: sorted[sorted.length - 1] * s,
      rootfsMeanS: (rootfs.length ? mean(rootfs) : NaN) * s,
      successRate: ok / containers.length,
      failures: containers.length - ok,
      unfinished: remaining,
      mountOps: counts.total,
      syscalls: ops.count,
      maxMountTable: path.maxMountTable,
      mountinfoReads: reads.length,
      mountinfoReadMeanS: (reads.length ? mean(reads) : 0) * s,
      mountinfoReadMaxS: (reads.length ? reads[reads.length - 1] : 0) * s,
      ...(prop
        ? {
            peakPeers: path.maxPeers,
            runcMountinfoReadMeanS: (runcReads.length ? mean(runcReads.sorted()) : 0) * s,
            runcMountinfoReadMaxS: (runcReads.length ? runcReads.sorted()[runcReads.length - 1] : 0) * s,
            mountTableReadMaxS: Math.max(tableReads.length ? tableReads.sorted()[tableReads.length - 1] : 0, ...[...readsInFlight.values()].map((b) => end - b)) * s,
          }
        : {}),
      criP99S: (cri.length ? percentile(cri, 99) : 0) * s,
      criMaxS: (cri.length ? cri[cri.length - 1] : 0) * s,
      criTimeouts: cri.filter((x) => x > host.criTimeoutNs).length,
      pathLookups: path.pathLookups,
      pathRetries: path.pathRetries,
      backgroundWalks: backgroundWalks(),
      backgroundSpunWalks: pressure.spunWalks,
      backgroundSpinS: pressure.spinNs * s,
      backgroundBurstRequests: pressure.burstRequests,
      rcuGracePeriods: path.rcu.gracePeriods,
      simulatedS: end * s,
      events: m.sim.eventsFired,
      ...time,
    };
  }

  /**
   * Where time went. Shares are of the containerd threads' elapsed time (on
   * and off CPU); `cpuSpinShare` is spinning's share of all on-CPU time on the
   * machine (comparable with the blog's TMA figure, statement B10), and
   * `mountCpuShareOfContainerd` the mount syscalls' share of containerd's CPU
   * (its flame graph, statement B8).
   */
  /** Walks the background made: its rate integrated over the run (launches still running count to the end). */
  function backgroundWalks(): number {
    let running = launchTimeNs;
    for (let i = 0; i < containers.length; i++) if (Number.isNaN(launchNs[i])) running += end - containers[i].start_ns;
    return host.pathLookupsPerSec * end * 1e-9 + host.pathLookupsPerSecPerLaunch * running * 1e-9;
  }

  function breakdown(): Record<string, number> {
    let total = 0, spin = 0, lockWait = 0, cs = 0, rcu = 0, runtime = 0, start = 0, runqueue = 0, kernelCpu = 0;
    let machineCpu = 0, machineSpin = 0, containerdCpu = 0, containerdMountCpu = 0;
    let nsSemWait = 0, mountLockSpin = 0, mountLockHeld = 0, pathSpin = 0;
    for (const a of m.ledger.totals()) {
      const n = a.name;
      const k = a.kind;
      const on = a.onCpuNs, off = a.offCpuNs;
      machineCpu += on;
      const isSpin = k.phase === 'spin' || k.phase === 'pathSpin';
      if (isSpin) machineSpin += on;
      if (k.phase === 'pathSpin') pathSpin += on;
      // Whose time it is: the first component of the folded stack is the process.
      const containerd = n.startsWith('containerd;') && !n.startsWith('containerd;cri');
      const runc = n.startsWith('runc;');
      if (!containerd && !runc) continue;
      total += on + off;
      if (containerd) {
        containerdCpu += on;
        if (k.phase !== 'runtime') containerdMountCpu += on;
      }
      if (k.phase === 'runtime') { runtime += on; runqueue += off; continue; }
      if (runc) {
        if (isSpin) spin += on; else start += on;
        runqueue += off;
        continue;
      }
      if (k.phase === 'wait') {
        // Spinning on the rwsem (optimistic) is on CPU; sleeping is off CPU.
        spin += on;
        lockWait += off;
        nsSemWait += on + off;
        continue;
      }
      if (k.phase === 'rcu') { rcu += on + off; continue; }
      if (isSpin) {
        spin += on;
        runqueue += off;
        if (k.phase === 'pathSpin') continue;
        mountLockSpin += on + off;
        continue;
      }
      // Work inside the syscall: inside a lock it is a critical section.
      if (k.inLock) {
        cs += on;
        if (k.inSeqlock) mountLockHeld += on + off;
      } else kernelCpu += on;
      runqueue += off;
    }
    // Background walks: their spinning and their walking are CPU time on the machine too.
    machineSpin += pressure.spinNs;
    machineCpu += pressure.spinNs + backgroundWalks() * kernel.host.pathLookupNs.value;
    const share = (x: number) => (total > 0 ? x / total : 0);
    const s = 1e-9;
    return {
      shareSpin: share(spin),
      shareLockSleep: share(lockWait),
      shareCriticalSection: share(cs),
      shareRcuWait: share(rcu),
      shareKernelWork: share(kernelCpu),
      shareRuntimeWork: share(runtime),
      shareContainerStart: share(start),
      shareRunQueue: share(runqueue),
      cpuSpinShare: machineCpu > 0 ? machineSpin / machineCpu : 0,
      mountCpuShareOfContainerd: containerdCpu > 0 ? containerdMountCpu / containerdCpu : 0,
      namespaceSemWaitS: nsSemWait * s,
      mountLockSpinS: mountLockSpin * s,
      mountLockHeldS: mountLockHeld * s,
      pathInitSpinS: pathSpin * s,
    };
  }

  function foldedStacks(): string {
    const lines: string[] = [];
    for (const a of m.ledger.totals()) {
      const us = Math.round(a.onCpuNs / 1000);
      if (us > 0) lines.push(`${a.name} ${us}`);
    }
    return lines.sort().join('\n') + '\n';
  }
}

/**
 * Other runnable work on a shared machine, which the simulator does not run
 * thread by thread: a thread that wakes from a sleep (a grace period, a
 * rw-semaphore) with `runnable` other tasks about sometimes finds its CPU
 * taken and waits out the other task's slice. Under a load of 10-18 other
 * runnable tasks on 2 vCPUs ~8% of a lone launch's unmounts returned after
 * 0.1-17 ms instead of ~35 us, and the mean launch was 3-9x the quiet one
 * (docs/validation.md). Modelled as: each wake-up waits, with probability
 * min(1, runnable x otherWorkWakeShare), an exponential time of mean
 * otherWorkWakeWaitNs (kernel model host section, measured by calibrate);
 * absent or runnable 0: no wait.
 */
function waitBehindOtherWork(m: Machine, kernel: KernelModel, runnable: number): void {
  const share = kernel.host.otherWorkWakeShare?.value ?? 0;
  const meanNs = kernel.host.otherWorkWakeWaitNs?.value ?? 0;
  if (runnable <= 0 || share <= 0 || meanNs <= 0) return;
  m.scheduler.wakeWait = { probability: Math.min(1, runnable * share), meanNs, draws: m.random.stream('other-work-wake-wait') };
}
