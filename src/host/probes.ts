// Building and running the C probes in probes/ that measure this host: the
// lock microbenchmark, the core-to-core ping-pong matrix, the mount storm and
// the wake-up latency probe.
// Probes print one JSON object on stdout; we validate it here so a changed or
// broken probe fails with a clear message instead of NaNs further down.

import { execFile, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const PROBE_NAMES = ['lockbench', 'pingpong', 'mountstorm', 'wakeup'] as const;
export type ProbeName = (typeof PROBE_NAMES)[number];

/** Exit codes shared by the probes (see the header comment of each .c file). */
export const PROBE_EXIT = { ok: 0, failed: 1, usage: 2, noPrivilege: 3, unsupported: 4 } as const;

export const PROBES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'probes');

export function probePath(name: ProbeName): string {
  return join(PROBES_DIR, 'build', name);
}

/** A probe that could not run or gave output we cannot use. */
export class ProbeError extends Error {
  constructor(
    message: string,
    readonly probe: string,
    readonly exitCode: number | null = null,
    readonly stderr = '',
  ) {
    super(message);
    this.name = 'ProbeError';
  }
}

const nsNumber = z.number().finite().nonnegative();

export const lockbenchResultSchema = z.object({
  probe: z.literal('lockbench'),
  config: z.object({
    lock: z.enum(['ttas', 'ticket']),
    threads: z.number().int().positive(),
    cpus: z.array(z.number().int().nonnegative()),
    csNs: nsNumber,
    thinkNs: nsNumber,
    durationMs: z.number().positive(),
    sampleEvery: z.number().int().positive(),
    /** Cost of one clock read: the resolution of the busy waits. */
    clockReadNs: z.number().positive(),
    /** One uncontended iteration of the probe's loop (absent in files recorded before 2026-11-30 13:00 UTC). */
    iterationNs: z.number().positive().optional(),
    /** One PAUSE (cpu_relax) of this host, ns (absent in files recorded before 2026-12-01 23:00 UTC). */
    pauseNs: z.number().positive().optional(),
    /** With --data: where the counter the holder increments lives (absent: none). */
    data: z.enum(['same-line', 'own-line']).optional(),
  }),
  elapsedNs: nsNumber,
  acquisitions: nsNumber,
  acquisitionsPerSec: nsNumber,
  perThreadAcquisitions: z.array(nsNumber),
  /** Page faults of the probe's process while its workers ran: 0 once each worker writes its sample pages before the start (absent before 2026-12-01 21:40 UTC, whose runs took ~4,000 a second, each ~12 us on this project's guest, many with the lock held). */
  pageFaultsDuringRun: nsNumber.optional(),
  /** Each worker's CPU time over the run's wall time (absent in files recorded before 2026-11-30 13:10 UTC). */
  workerCpuShare: z.array(z.number().nonnegative()).optional(),
  /** One-way transfer between the first two workers' CPUs (CAS round trip / 2) before and after the run (absent before 2026-11-30 13:35 UTC, or with one CPU). */
  transferNs: z.object({ before: z.number().nonnegative(), after: z.number().nonnegative() }).optional(),
  /** Percentiles of single one-way trips between the same CPUs (a time stamp written, seen by a spinner: about two transfers), before the run, and the time stamp counter's step (absent before 2026-12-02 02:00 UTC, with one CPU, or off x86). */
  transferSpread: z
    .object({ samples: nsNumber, p5Ns: nsNumber, p16Ns: nsNumber, p25Ns: nsNumber, p50Ns: z.number().positive(), p75Ns: nsNumber, p84Ns: nsNumber, p95Ns: nsNumber, tickNs: nsNumber })
    .optional(),
  latencyNs: z.object({ samples: nsNumber, p50: nsNumber, p90: nsNumber, p99: nsNumber, max: nsNumber }),
});
export type LockbenchResult = z.infer<typeof lockbenchResultSchema>;

export const pingpongResultSchema = z.object({
  probe: z.literal('pingpong'),
  method: z.literal('cas-round-trip-half'),
  samples: z.number().int().positive(),
  iterations: z.number().int().positive(),
  cpus: z.array(z.number().int().nonnegative()),
  /** One-way latency in ns from row CPU to column CPU; null on the diagonal. */
  matrixNs: z.array(z.array(nsNumber.nullable())),
});
export type PingpongResult = z.infer<typeof pingpongResultSchema>;

const wakeupStatsSchema = z.object({ samples: z.number().int().positive(), p10Ns: nsNumber, p50Ns: nsNumber, p90Ns: nsNumber });
const wakeupPlacementSchema = z.object({
  /** The wakee's CPU before it slept: the other CPU (idle, or busy with a thread spinning in user mode), or the waker's own. */
  lastCpu: z.enum(['other', 'waker', 'other-busy']),
  onWaker: z.number().int().nonnegative(),
  onOther: z.number().int().nonnegative(),
  /** Of onOther, those that ran within 1 ms (no time slice had to end first). */
  onOtherWithin1ms: z.number().int().nonnegative(),
  onWakerLatency: wakeupStatsSchema.optional(),
  onOtherLatency: wakeupStatsSchema.optional(),
});
/** One interrupt source of the wakeup probe's `interrupts`: the stolen time per call (over its batches), or why it was not measured. */
const interruptSourceSchema = z.union([
  z.object({ stolenPerCallNs: z.object({ min: nsNumber, median: nsNumber, max: nsNumber }), callNs: z.object({ median: nsNumber }) }),
  z.object({ skipped: z.string() }),
]);
/** probes/wakeup.c: futex wake to first instruction of the woken thread (see the probe's header). */
export const wakeupResultSchema = z.object({
  probe: z.literal('wakeup'),
  method: z.literal('futex-wake-to-run'),
  cpus: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
  samples: z.number().int().positive(),
  /** Both threads on one CPU; the waker sleeps right after the wake. */
  local: wakeupStatsSchema,
  /** The wakee on the other CPU, idle for gapNs before the wake. */
  remote: z.array(z.object({ gapNs: nsNumber, latency: wakeupStatsSchema })).min(1),
  /** A wakee free to run on either CPU that last ran on the other one. */
  placement: wakeupPlacementSchema,
  /** The same, having last run on the waker's CPU (the other CPU idle). */
  placementSame: wakeupPlacementSchema,
  /** The same, having last run on the other CPU while a third thread spins there in user mode. */
  placementBusy: wakeupPlacementSchema,
  /** The waker's own FUTEX_WAKE call (median): onto its own CPU, onto the other one (the IPI's send), and with no waiter (the syscall alone). Absent in older files. */
  wakeCall: z.object({ localP50Ns: nsNumber, remoteP50Ns: nsNumber, noneP50Ns: nsNumber }).optional(),
  /**
   * What an interrupt takes from a thread spinning in user mode on the other
   * CPU, per call of its source (the probe's header): an IPI
   * (membarrier) and an expedited RCU grace period's IPI (an umount, root
   * only). Absent in files recorded before the probe measured it.
   */
  interrupts: z
    .object({
      callsPerBatch: z.number().int().positive(),
      batches: z.number().int().positive(),
      spacingNs: nsNumber,
      ipi: interruptSourceSchema,
      gracePeriod: interruptSourceSchema,
    })
    .optional(),
  /**
   * A token round rings of 2 and 3 tasks on one CPU, as threads and as
   * processes: ns per hand-off, one value per batch (the probe's header).
   * Absent in files recorded before the probe measured it.
   */
  addressSpace: z
    .union([
      z.object({ skipped: z.string() }),
      z.object({
        laps: z.number().int().positive(),
        handoffNs: z.object({ threads2: z.array(nsNumber).min(1), processes2: z.array(nsNumber).min(1), threads3: z.array(nsNumber).min(1), processes3: z.array(nsNumber).min(1) }),
      }),
    ])
    .optional(),
});
export type WakeupResult = z.infer<typeof wakeupResultSchema>;

export const MOUNTSTORM_VARIANTS = ['per-layer-idmap', 'common-parent', 'common-parent-one-pass', 'fsconfig-lowerdir-plus', 'shifted-untar'] as const;
export type MountstormVariant = (typeof MOUNTSTORM_VARIANTS)[number];

export const PROPAGATION_MODES = ['shared', 'private'] as const;
export type PropagationMode = (typeof PROPAGATION_MODES)[number];
export const READER_MODES = ['slave', 'private'] as const;
export type ReaderMode = (typeof READER_MODES)[number];

export const mountstormPropagationSchema = z.strictObject({
  mode: z.enum(PROPAGATION_MODES),
  /** Bind mounts of the layer directory made before the storm, all peers of the shared mount. */
  peers: z.number().int().nonnegative(),
  /** The shared mount's peer group id in mountinfo (0 when private). */
  peerGroup: z.number().int().nonnegative(),
  /** How long making the peers took (each bind walks the group: O(peers^2) in all). */
  peersSetupNs: nsNumber,
});

export const mountinfoReadSchema = z.strictObject({
  /** When the read started, from the storm's release (negative: an idle read before it). */
  startNs: z.number().int(),
  /** open() to close() of one full read of /proc/self/mountinfo. */
  durNs: nsNumber,
  /** The reader thread's CPU time over the same span (CLOCK_THREAD_CPUTIME_ID): the read's work without waits. */
  cpuNs: nsNumber,
  bytes: nsNumber,
  /** read() calls, the last one returning 0. */
  syscalls: z.number().int().positive(),
  lines: nsNumber,
  duringStorm: z.boolean(),
});
export type MountinfoRead = z.infer<typeof mountinfoReadSchema>;

export const mountinfoReaderSchema = z.strictObject({
  mode: z.enum(READER_MODES),
  readSize: z.number().int().positive(),
  reads: z.array(mountinfoReadSchema),
});

export const mountstormSummarySchema = z.object({
  probe: z.literal('mountstorm'),
  variant: z.enum(MOUNTSTORM_VARIANTS),
  layers: z.number().int().positive(),
  containers: z.number().int().positive(),
  passes: z.number().int().positive(),
  kernel: z.string(),
  failedContainers: z.number().int().nonnegative(),
  wallNs: nsNumber,
  /** Per container: from the release of all containers to the end of its last mount operation. */
  launchNs: z.array(nsNumber),
  meanNs: nsNumber,
  p50Ns: nsNumber,
  p99Ns: nsNumber,
  maxNs: nsNumber,
  opCounts: z.record(z.string(), nsNumber),
  /** Median duration of each operation kind over all containers (absent in older files). */
  opP50Ns: z.record(z.string(), nsNumber).optional(),
  /** With --propagation: median CPU time of each operation kind (the thread's own work, without waits). */
  opCpuP50Ns: z.record(z.string(), nsNumber).optional(),
  /** With --propagation: the layers' mount shared or private, and the pre-built peer group. */
  propagation: mountstormPropagationSchema.optional(),
  /** With --umount-detach: umount2 with MNT_DETACH (no busy check), as containerd unmounts. */
  umountDetach: z.literal(true).optional(),
  /** With --unmount-inspection: each container unmounted pass 1's overlay before pass 2. */
  unmountInspection: z.literal(true).optional(),
  /** With --processes: one process per container, forked one after another at the release. */
  processes: z.literal(true).optional(),
  /** With --idle-mounts: the binds made before the storm beside its targets. */
  idleMounts: z.number().int().positive().optional(),
  /** With --processes: when each container's process started running, ns after the release. */
  processStartNs: z.array(nsNumber).optional(),
  /** With --processes: page faults each container's process took from its fork to its exit (getrusage ru_minflt + ru_majflt; absent before 2026-12-01). */
  processFaults: z.array(z.number().int().nonnegative()).optional(),
  /** With --processes: one copy-on-write page fault in a freshly forked child, ns (median of three children writing 64 pages each, before the release). */
  cowFaultNs: nsNumber.optional(),
  /** With --processes: CPU each container's process took to exit after its last op (wait4's utime + stime less its own CPU clock at its end; absent before 2026-12-01 07:00 UTC). */
  processExitCpuNs: z.array(nsNumber).optional(),
  /** With --processes: each container process's CPU time when it began to run its own code after its fork (the kernel's and libc's side of its start; absent before 2026-12-01 13:00 UTC). */
  processStartCpuNs: z.array(nsNumber).optional(),
  /** With --processes: each container process's page faults by then (getrusage; absent before 2026-12-01 13:00 UTC). */
  processStartFaults: z.array(z.number().int().nonnegative()).optional(),
  /** With --processes and two CPUs: before the release, a fork's time until its child runs (median of 7), with the other CPU idle and with a thread spinning on it (absent before 2026-12-01 13:45 UTC). */
  forkToChildNs: z.object({ otherCpuIdle: nsNumber, otherCpuBusy: nsNumber }).optional(),
  /** With --processes: the forking thread's CPU over the fork loop (every clone(), and the copy-on-write faults it then takes on its own pages). */
  forkLoopCpuNs: nsNumber.optional(),
  /** With --reader: every full read of /proc/self/mountinfo by the concurrent reader. */
  reader: mountinfoReaderSchema.optional(),
  /** One-way transfer between the first two cpus before and after the storm (absent before 2026-11-30 14:10 UTC, or with one cpu). */
  transferNs: z.object({ before: z.number().nonnegative(), after: z.number().nonnegative() }).optional(),
});
export type MountstormSummary = z.infer<typeof mountstormSummarySchema>;

const schemas = { lockbench: lockbenchResultSchema, pingpong: pingpongResultSchema, mountstorm: mountstormSummarySchema, wakeup: wakeupResultSchema };
export interface ProbeResults {
  lockbench: LockbenchResult;
  pingpong: PingpongResult;
  mountstorm: MountstormSummary;
  wakeup: WakeupResult;
}

export interface BuildResult {
  ok: boolean;
  /** What build.sh printed: empty on success, else why probes are unavailable. */
  message: string;
}

/** Compiles the probes (incrementally) with probes/build.sh. Never throws. */
export function buildProbes(): BuildResult {
  const r = spawnSync('/bin/sh', [join(PROBES_DIR, 'build.sh'), '--strict'], { encoding: 'utf8' });
  const message = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  const ok = r.status === 0 && PROBE_NAMES.every(probeAvailable);
  return { ok, message: ok ? message : message || `probes/build.sh failed (exit ${r.status})` };
}

export function probeAvailable(name: ProbeName): boolean {
  try {
    accessSync(probePath(name), constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface RunProbeOptions {
  /** Kill the probe after this long (default 10 minutes). */
  timeoutMs?: number;
}

/**
 * Runs a built probe with the given arguments and returns its validated JSON
 * output. Arguments go to execve directly, never through a shell.
 */
export function runProbe<N extends ProbeName>(name: N, args: readonly string[], opts: RunProbeOptions = {}): Promise<ProbeResults[N]> {
  if (!probeAvailable(name)) {
    return Promise.reject(new ProbeError(`probe ${name} is not built: run \`sh probes/build.sh\` (needs a C compiler)`, name));
  }
  return new Promise((resolve, reject) => {
    execFile(probePath(name), [...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: opts.timeoutMs ?? 600_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) {
        const code = typeof err.code === 'number' ? err.code : null;
        const why = stderr.trim().split('\n').filter(Boolean).pop() ?? (err.killed ? 'killed after the timeout' : err.message);
        reject(new ProbeError(`probe ${name} failed (exit ${code ?? err.signal ?? '?'}): ${why}`, name, code, stderr));
        return;
      }
      let data: unknown;
      try {
        data = JSON.parse(stdout);
      } catch {
        reject(new ProbeError(`probe ${name} printed no valid JSON: ${JSON.stringify(stdout.slice(0, 80))}`, name, 0, stderr));
        return;
      }
      const parsed = schemas[name].safeParse(data);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        reject(new ProbeError(`probe ${name} output field ${issue.path.join('.') || '(root)'}: ${issue.message}`, name, 0, stderr));
        return;
      }
      resolve(parsed.data as ProbeResults[N]);
    });
  });
}

export interface Capability {
  ok: boolean;
  /** Why not, in a few words (empty when ok). */
  reason: string;
}

/**
 * Whether this host can run the mount storm: root, a private mount namespace,
 * and an idmapped bind mount actually made (by the mountstorm probe in
 * --check-idmap mode, in its own namespace, so the host sees nothing).
 */
export function canMountIdmapped(): Capability {
  if (process.platform !== 'linux') return { ok: false, reason: 'not Linux' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root (mount namespaces and idmapped mounts need CAP_SYS_ADMIN)' };
  if (!probeAvailable('mountstorm')) return { ok: false, reason: 'mountstorm probe not built (run `sh probes/build.sh`; needs a C compiler)' };
  const r = spawnSync(probePath('mountstorm'), ['--check-idmap', '--variant', 'per-layer-idmap', '--layers', '1', '--containers', '1'], { encoding: 'utf8', timeout: 30_000 });
  if (r.status === 0) return { ok: true, reason: '' };
  const why = (r.stderr ?? '').trim().split('\n').filter(Boolean).pop() ?? `exit ${r.status ?? r.signal}`;
  return { ok: false, reason: why.replace(/^mountstorm: /, '') };
}
