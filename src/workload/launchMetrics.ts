/**
 * What a launch simulation measured, read from its state at the end: launch
 * and rootfs latencies (a launch still running at the horizon counts at the
 * horizon and failed), the mount-table readers, the background walks, and
 * where time went (the breakdown by the activities' typed kinds), plus the
 * folded stacks of on-CPU time.
 */
import type { Machine } from '../machine.ts';
import { Samples, mean, percentile } from '../bench/stats.ts';
import type { ReaderPressure } from '../hardware/readerPressure.ts';
import { countMountOps } from './generators.ts';
import type { LaunchState } from './host/launchState.ts';
import { backgroundWalks } from './host/backgroundWalks.ts';

export function launchMetrics(s: LaunchState, pressure: ReaderPressure): Record<string, number> {
  const { m, path, host, params, trace, end } = s;
  const containers = trace.header.containers;
  const timeout = params.healthCheckTimeoutNs;
  const lat = new Samples();
  let ok = 0;
  for (let i = 0; i < containers.length; i++) {
    // A launch still running at the horizon counts at the horizon (censored): it failed.
    const x = Number.isNaN(s.launchNs[i]) ? s.horizon - containers[i].start_ns : s.launchNs[i];
    lat.push(x);
    if (!Number.isNaN(s.launchNs[i]) && s.launchNs[i] <= timeout) ok++;
  }
  const sorted = lat.sorted();
  const rootfs = Array.from(s.rootfsNs).filter((x) => !Number.isNaN(x));
  const reads = s.systemdReads.sorted();
  const cri = s.criLatencies.sorted();
  const counts = countMountOps(trace);
  const time = breakdown(s, pressure);
  const sec = 1e-9;
  return {
    launchMeanS: mean(sorted) * sec,
    launchP50S: percentile(sorted, 50) * sec,
    launchP95S: percentile(sorted, 95) * sec,
    launchP99S: percentile(sorted, 99) * sec,
    launchMaxS: sorted[sorted.length - 1] * sec,
    rootfsMeanS: (rootfs.length ? mean(rootfs) : NaN) * sec,
    successRate: ok / containers.length,
    failures: containers.length - ok,
    unfinished: s.remaining,
    mountOps: counts.total,
    syscalls: trace.ops.count,
    maxMountTable: path.maxMountTable,
    mountinfoReads: reads.length,
    mountinfoReadMeanS: (reads.length ? mean(reads) : 0) * sec,
    mountinfoReadMaxS: (reads.length ? reads[reads.length - 1] : 0) * sec,
    ...(s.kernel.propagation
      ? {
          peakPeers: path.maxPeers,
          runcMountinfoReadMeanS: (s.runcReads.length ? mean(s.runcReads.sorted()) : 0) * sec,
          runcMountinfoReadMaxS: (s.runcReads.length ? s.runcReads.sorted()[s.runcReads.length - 1] : 0) * sec,
          mountTableReadMaxS: Math.max(s.tableReads.length ? s.tableReads.sorted()[s.tableReads.length - 1] : 0, ...[...s.readsInFlight.values()].map((b) => end - b)) * sec,
        }
      : {}),
    criP99S: (cri.length ? percentile(cri, 99) : 0) * sec,
    criMaxS: (cri.length ? cri[cri.length - 1] : 0) * sec,
    criTimeouts: cri.filter((x) => x > host.criTimeoutNs).length,
    pathLookups: path.pathLookups,
    pathRetries: path.pathRetries,
    backgroundWalks: backgroundWalks(s),
    backgroundSpunWalks: pressure.spunWalks,
    backgroundSpinS: pressure.spinNs * sec,
    backgroundBurstRequests: pressure.burstRequests,
    rcuGracePeriods: path.rcu.gracePeriods,
    simulatedS: end * sec,
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
function breakdown(s: LaunchState, pressure: ReaderPressure): Record<string, number> {
  let total = 0, spin = 0, lockWait = 0, cs = 0, rcu = 0, runtime = 0, start = 0, runqueue = 0, kernelCpu = 0;
  let machineCpu = 0, machineSpin = 0, containerdCpu = 0, containerdMountCpu = 0;
  let nsSemWait = 0, mountLockSpin = 0, mountLockHeld = 0, pathSpin = 0;
  for (const a of s.m.ledger.totals()) {
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
  machineCpu += pressure.spinNs + backgroundWalks(s) * s.kernel.host.pathLookupNs.value;
  const share = (x: number) => (total > 0 ? x / total : 0);
  const sec = 1e-9;
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
    namespaceSemWaitS: nsSemWait * sec,
    mountLockSpinS: mountLockSpin * sec,
    mountLockHeldS: mountLockHeld * sec,
    pathInitSpinS: pathSpin * sec,
  };
}

/** Folded stacks of on-CPU time, µs per stack, sorted: flamegraph.pl and speedscope read them. */
export function foldedStacks(m: Machine): string {
  const lines: string[] = [];
  for (const a of m.ledger.totals()) {
    const us = Math.round(a.onCpuNs / 1000);
    if (us > 0) lines.push(`${a.name} ${us}`);
  }
  return lines.sort().join('\n') + '\n';
}
