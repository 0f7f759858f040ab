/**
 * A burst of container launches on one machine: the heart of locksim.
 *
 * Each container is one containerd thread that replays its ops from the trace
 * (generated for the runtime variant, or recorded), each op being containerd's
 * own CPU work plus the syscall's steps from the kernel model, then the
 * container's start (runc and its first process: CPU work and path walks).
 * This module builds the trace and wires the host's actors, each a process
 * of its own in src/workload/host/ sharing one LaunchState; the metrics are
 * read from that state at the end (launchMetrics.ts).
 * Around the launches the host keeps living:
 *  - path walks by everything else on the machine, which are mount_lock
 *    seqlock readers: they spin while a mount writer holds it;
 *  - a systemd-like consumer that re-reads the whole mount table on every
 *    mount event (reading takes namespace_sem for read per read() buffer);
 *  - kubelet polling containerd over CRI; containerd answers after looking up
 *    its mounts in the mount table.
 * A launch slower than the health-check timeout is a failure.
 */
import type { Machine } from '../machine.ts';
import { generateTrace } from './generators.ts';
import { missingForkCostError, missingSyscallError, type KernelModel } from './kernelModel.ts';
import type { LaunchParams } from './launchParams.ts';
import { OP_CODE, TraceOpsBuilder, opAt, parseTrace, type Trace } from './trace.ts';
import { readInputFile } from '../config/yamlLoad.ts';
import { LaunchState, type OpLogEntry } from './host/launchState.ts';
import { startSystemd } from './host/systemd.ts';
import { startKubelet } from './host/kubelet.ts';
import { startBackgroundWalks } from './host/backgroundWalks.ts';
import { waitBehindOtherWork } from './host/otherWork.ts';
import { startContainers } from './host/containerd.ts';
import { foldedStacks, launchMetrics } from './launchMetrics.ts';

export interface LaunchResult {
  metrics: Record<string, number>;
  /** Folded stacks of simulated on-CPU time (µs), for flamegraph.pl / speedscope. */
  folded: string;
  /** With `recordOpDurations`: each op kind's call durations (ns, syscall entry to return), as a traced probe run records them. */
  opDurations?: Record<string, number[]>;
  /** Lone grace periods that took the run's settled mode (kernelPath.ts, ExpeditedRcu): 0 when the mode did not matter. */
  rcuIdleModeUses?: number;
  /** With `recordOpLog`: every op call in the order they returned, as a traced probe run's lines give them. */
  opLog?: OpLogEntry[];
}

export interface LaunchOptions {
  /** Keep every op's duration by op kind (calibration compares them with a probe's trace). */
  recordOpDurations?: boolean;
  /** Keep every op call with its container and entry time (scripts/umount-context.ts sets them beside a probe's trace). */
  recordOpLog?: boolean;
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
    unmountInspection: params.unmountInspection ?? false,
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
  if (params.processPerContainer) {
    const missing = missingForkCostError(kernel);
    if (missing) throw missing;
  }
  if (trace.ops.op.includes(OP_CODE.umount_overlay)) {
    const missing = missingSyscallError(kernel, 'umount_overlay', 'the trace unmounts an overlay');
    if (missing) throw missing;
  }
  const rq = kernel.scheduler;
  if (rq?.runQueues === 'per-cpu') m.scheduler.perCpuQueues = { balanceIntervalNs: rq.balanceIntervalNs.value };
  const s = new LaunchState(m, kernel, params, trace, opts.recordOpDurations === true, opts.recordOpLog === true);
  // The host's actors, in this order (their activity labels and random
  // streams are made in it): systemd, kubelet, the background walkers, other
  // work, then the launches.
  startSystemd(s);
  startKubelet(s);
  const pressure = startBackgroundWalks(s);
  waitBehindOtherWork(m, kernel, s.host.backgroundRunnable);
  startContainers(s);

  m.sim.run(s.horizon);
  s.end = m.sim.now;
  m.ledger.flush(s.end);
  return { metrics: launchMetrics(s, pressure), folded: foldedStacks(m), rcuIdleModeUses: s.path.rcu.idleModeUses, ...(s.opDurations ? { opDurations: s.opDurations } : {}), ...(s.opLog ? { opLog: s.opLog } : {}) };
}
