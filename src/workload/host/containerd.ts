/**
 * containerd's launches: one thread per container, started at its arrival,
 * that replays the container's ops from the trace (containerd's own CPU work,
 * then the syscall's steps from the kernel model), keeps the host's mount
 * table and the peer group's listed members up to date, then runs the
 * container's start (runc: its optional mount-namespace steps or its read of
 * mountinfo in a slave namespace, then CPU work with path walks spread
 * through it).
 */
import type { SimThread } from '../../cpu/thread.ts';
import { syscallKeyForOp } from '../kernelModel.ts';
import { OP_NAMES, mountTableDelta } from '../trace.ts';
import type { LaunchState } from './launchState.ts';
import { readMountinfo, readerLabels } from './mountinfoReader.ts';

export function startContainers(s: LaunchState): void {
  const { m, kernel, host, path } = s;
  const { containers } = s.trace.header;
  const ops = s.trace.ops;
  const names = m.activities;
  const prop = kernel.propagation;
  const lineBytes = prop?.mountinfoLineBytes.value ?? 0;
  const overlayBytesPerLayer = prop?.overlayLineBytesPerLayer.value ?? 0;

  // Ops of each container, in trace order.
  const opsOf: number[][] = containers.map(() => []);
  for (let i = 0; i < ops.count; i++) opsOf[ops.container[i]].push(i);

  const runtimeWork = names.id('containerd;runtime', { phase: 'runtime', inLock: false, inSeqlock: false });
  const startWork = names.id('runc;container_start', { phase: 'start', inLock: false, inSeqlock: false });
  const startLabels = path.pathLookupLabels('runc;container_start');
  const perOpNs = kernel.host.runtimePerOpNs.value;
  const startWorkNs = kernel.host.runtimeStartNs?.value ?? 0;
  // A thread woken at the release takes this long to get going; a forked process is already running when its fork returns (processForkNs covers its start, or processStartCpuNs on its own CPU).
  const startLatencyNs = s.params.processPerContainer ? 0 : kernel.host.runtimeStartLatencyNs?.value ?? 0;
  const overlayPerLayerNs = kernel.host.runtimeOverlayPerLayerNs?.value ?? 0;
  const startNs = host.containerStartNs ?? kernel.host.containerStartNs.value;
  const startLookups = host.containerStartPathLookups;
  const startSteps = host.containerStartMounts ? kernel.containerStart?.steps : undefined;
  const runcLabels = readerLabels(s, 'runc', 'mountinfo_parse');
  const runcReader = { readBytes: host.goReadBytes, slave: true };
  function* runcReadMountinfo(t: SimThread, parsePerLineNs: number) {
    const start = t.localNow;
    yield* readMountinfo(s, t, runcLabels, parsePerLineNs, runcReader);
    s.runcReads.push(t.localNow - start);
  }
  const runcParseNs = kernel.costs.runcMountinfoParseNs?.value ?? 0;
  const opDurations = s.opDurations;
  const opLog = s.opLog;

  const processFaultNs = kernel.host.processFaultNs?.value ?? 0;
  const faultWork = names.id('runtime;page faults', { phase: 'runtime', inLock: false, inSeqlock: false });
  // A container process's own start and exit (processStartCpuNs, processExitCpuNs), on its CPU.
  const processStartCpuNs = kernel.host.processStartCpuNs?.value ?? 0;
  const processExitCpuNs = kernel.host.processExitCpuNs?.value ?? 0;
  const processStartWork = names.id('runtime;process start', { phase: 'runtime', inLock: false, inSeqlock: false });
  const processExitWork = names.id('runtime;process exit', { phase: 'runtime', inLock: false, inSeqlock: false });
  // Page-table work (a fork, a fresh process's start, an exit's teardown) costs processForkBusyFactor
  // times more beside another running or waiting thread; the thread doing it counts itself in the demand.
  const forkBusyFactor = kernel.host.processForkBusyFactor?.value ?? 1;
  const besideBusy = () => (forkBusyFactor !== 1 && m.scheduler.demand > 1 ? forkBusyFactor : 1);
  // With one process per container: which containers' processes have been forked, and who waits for its fork.
  const forked = new Uint8Array(containers.length);
  const awaitingFork: (SimThread | null)[] = containers.map(() => null);
  // The probe's release chain: the threads still at the gate, each woken by the one before it.
  const parked: (SimThread | null)[] = containers.map(() => null);
  const spawnContainer = (ci: number, park = false) => {
    const c = containers[ci];
    // A parked thread's launch is under way once it is woken; a spawned one's now.
    if (!park) s.activeLaunches++;
    // The next move_mount attaches an fsmount'ed overlay (fsconfig variant), not a bind.
    let overlayPending = false;
    const body = function* (t: SimThread) {
      if (park) s.activeLaunches++;
      // Out of the gate, on a CPU: its unlock of the gate mutex wakes the next waiter (the probe's release chain).
      parked[ci + 1]?.wake();
      if (s.params.processPerContainer && !forked[ci]) {
        t.doing(names.id('idle'));
        awaitingFork[ci] = t;
        t.sleep();
        yield;
      }
      // A fresh process starts on its own CPU (ret_from_fork, fork()'s return in libc), while the parent forks on.
      if (s.params.processPerContainer && processStartCpuNs > 0) {
        t.doing(processStartWork);
        t.work(processStartCpuNs * besideBusy() * path.jitter(t));
        yield;
      }
      // Its first writes fault its pages in (its stack, libc's data, its records): CPU at its start.
      if (s.params.processPerContainer && processFaultNs > 0) {
        t.doing(faultWork);
        t.work(processFaultNs * path.jitter(t));
        yield;
      }
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
        const called = t.localNow;
        yield path.syscall(t, 'containerd', key, c.layers);
        if (opDurations) (opDurations[op] ??= []).push(t.localNow - called);
        if (opLog) opLog.push({ container: c.id, op, startNs: called, durNs: t.localNow - called });
        const delta = mountTableDelta(op);
        if (delta !== 0) {
          path.mountTable += delta;
          if (path.mountTable > path.maxMountTable) path.maxMountTable = path.mountTable;
          const overlay = op === 'mount_overlay' || op === 'umount_overlay' || (op === 'move_mount' && overlayPending);
          path.mountTableBytes += delta * (lineBytes + (overlay ? overlayBytesPerLayer * c.layers : 0));
          if (op === 'move_mount') {
            if (!overlayPending) path.attachClone(t);
            overlayPending = false;
          }
        }
        if (op === 'fsmount') overlayPending = true;
        if (kernel.syscalls[key]!.notifiesMountWatchers) s.onMountEvent();
      }
      s.rootfsNs[ci] = t.localNow - c.start_ns;
      // runc's mount namespace: each step costs in proportion to the host's table now.
      if (startSteps) {
        for (const step of startSteps) {
          if ('syscall' in step) for (let n = 0; n < (step.count ?? 1); n++) yield path.syscall(t, 'runc', step.syscall, c.layers);
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
        if (k < startLookups) yield path.pathLookup(t, startLabels.spinning, startLabels.walking);
      }
      t.doing(names.id('idle'));
      s.launchNs[ci] = t.localNow - c.start_ns;
      s.activeLaunches--;
      s.launchTimeNs += s.launchNs[ci];
      if (--s.remaining === 0) t.sim.stop();
      // Its process exits after its last op, on its CPU, beside the launches still running.
      else if (s.params.processPerContainer && processExitCpuNs > 0) {
        t.doing(processExitWork);
        t.work(processExitCpuNs * besideBusy() * path.jitter(t));
        yield;
        t.doing(names.id('idle'));
      }
    };
    // A thread at the gate last ran when it got there; the probe created them one after another, spread over the CPUs.
    if (park) parked[ci] = m.spawnParked(`containerd-${c.id}`, body, ci % m.cpus);
    // With one process per container its thread runs in that process's memory: an address space of its own.
    else m.spawn(`containerd-${c.id}`, body, [], s.params.processPerContainer ? 1 + ci : 0);
  };
  // Each container's thread starts at its arrival (with one process per container it sleeps there until its fork).
  // The probe's release chain (host.probeReleaseChain): only the first
  // container released at once; the others wait at the gate, each woken by
  // the one before it when that one first runs, and must then get a CPU
  // (with the machine's wake-up placement and costs) to wake the next.
  const chain = host.probeReleaseChain && !s.params.processPerContainer;
  containers.forEach((c, ci) => {
    if (chain && ci > 0 && c.start_ns <= 0) spawnContainer(ci, true);
    else if (c.start_ns <= 0) spawnContainer(ci);
    else m.sim.scheduleAt(c.start_ns, { fire: () => spawnContainer(ci) }, 0);
  });
  if (!s.params.processPerContainer) return;
  // One process per container: the runtime forks them one after another, in
  // arrival order, each fork costing CPU on the forking thread (which
  // competes for the CPUs with the containers already running); a launch
  // whose fork waits behind others starts late but counts from its arrival.
  const forkNs = kernel.host.processForkNs?.value ?? 0;
  const forkWork = names.id('runtime;fork', { phase: 'runtime', inLock: false, inSeqlock: false });
  const order = containers.map((_, ci) => ci).sort((a, b) => containers[a]!.start_ns - containers[b]!.start_ns || a - b);
  m.spawn('runtime-forker', function* (t) {
    for (const ci of order) {
      const at = containers[ci]!.start_ns;
      if (at > t.sim.now) {
        t.doing(names.id('idle'));
        t.sleepFor(at - t.sim.now);
        yield;
      }
      if (forkNs > 0) {
        t.doing(forkWork);
        t.work(forkNs * besideBusy() * path.jitter(t));
        yield;
      }
      forked[ci] = 1;
      const waiting = awaitingFork[ci];
      if (waiting) {
        awaitingFork[ci] = null;
        waiting.wake();
      }
    }
    t.doing(names.id('idle'));
  });
}
