/**
 * The state one launch simulation shares between its actors (containerd's
 * launches, systemd, kubelet, the background path walkers) and the metrics
 * read from it at the end: the machine and models, the kernel's mount path,
 * each container's times, and what the mount-table readers measured.
 */
import type { Machine } from '../../machine.ts';
import type { SimThread } from '../../cpu/thread.ts';
import { Samples } from '../../bench/stats.ts';
import type { KernelModel } from '../kernelModel.ts';
import { KernelMountPath } from '../kernelPath.ts';
import type { LaunchParams } from '../launchParams.ts';
import type { Trace } from '../trace.ts';

/** One simulated op call: its container, op kind, entry time and duration (ns). */
export interface OpLogEntry {
  container: string;
  op: string;
  startNs: number;
  durNs: number;
}

export class LaunchState {
  readonly host: LaunchParams['host'];
  readonly path: KernelMountPath;
  /** When launches still running are cut: the last arrival plus the horizon. */
  readonly horizon: number;
  /** Each container's launch and rootfs time, ns; NaN until it finishes. */
  readonly launchNs: Float64Array;
  readonly rootfsNs: Float64Array;
  /** Launches not finished yet. */
  remaining: number;
  /** Launches in flight now (the background walk rate grows with them). */
  activeLaunches = 0;
  /** Sum of the finished launches' times, ns. */
  launchTimeNs = 0;
  /** With `recordOpDurations`: each op kind's call durations, ns. */
  readonly opDurations: Record<string, number[]> | undefined;
  /** With `recordOpLog`: every op call with its container and entry time. */
  readonly opLog: OpLogEntry[] | undefined;
  /** systemd's re-reads of the table after mount events, ns. */
  readonly systemdReads = new Samples();
  /** Every full read of the table by any reader (systemd, containerd for kubelet, runc), ns. */
  readonly tableReads = new Samples();
  /** Reads not finished yet, by reader, with their start: one still running at the horizon is the slowest of all. */
  readonly readsInFlight = new Map<SimThread, number>();
  /** kubelet's CRI calls answered by containerd after reading the table, ns. */
  readonly criLatencies = new Samples();
  /** runc's reads of the table in its container's slave namespace, ns. */
  readonly runcReads = new Samples();
  /** Called after each syscall that changes the host's table (systemd listens when present). */
  onMountEvent: () => void = () => {};
  /** Simulated time at the end of the run. */
  end = 0;

  constructor(
    readonly m: Machine,
    readonly kernel: KernelModel,
    readonly params: LaunchParams,
    readonly trace: Trace,
    recordOpDurations: boolean,
    recordOpLog = false,
  ) {
    this.host = params.host;
    this.path = new KernelMountPath(m, kernel, this.host.baseMounts, {
      layerParentShared: this.host.layerParentShared,
      setsPropagation: this.host.idmapPropagation === 'private',
      ringStepCostFactor: this.host.ringStepCostFactor,
      slaveNamespaces: this.host.slaveNamespaces,
    });
    const n = trace.header.containers.length;
    this.launchNs = new Float64Array(n).fill(NaN);
    this.rootfsNs = new Float64Array(n).fill(NaN);
    this.remaining = n;
    const lastArrival = trace.header.containers.reduce((mx, c) => Math.max(mx, c.start_ns), 0);
    this.horizon = lastArrival + params.horizonNs;
    this.opDurations = recordOpDurations ? {} : undefined;
    this.opLog = recordOpLog ? [] : undefined;
  }
}
