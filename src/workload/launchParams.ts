/**
 * The `launch:` section of a scenario: a burst (or stream) of container
 * launches on one machine, replayed through the kernel model. x axis:
 * `containers` (how many launch at once).
 */
import { z } from 'zod';
import { RUNTIME_VARIANTS } from './generators.ts';

const positiveInt = z.number().int().positive();
const ns = z.number().nonnegative();

export const hostActivitySchema = z.strictObject({
  /**
   * Path walks per second by everything else on the machine (agents, daemons,
   * running workloads). Each is a mount_lock seqlock reader; they act on the
   * fabric as reader pressure on mount_lock's line (src/hardware/readerPressure.ts).
   */
  pathLookupsPerSec: ns.default(20_000),
  /**
   * Runnable tasks of other work on the machine, not simulated thread by
   * thread (a shared machine's other processes): a woken thread sometimes
   * waits behind them for a CPU (the kernel model's host.otherWorkWake*).
   * Measured by `locksim measure mountstorm` (host.otherRunnable); 0: the
   * machine is the launches' alone.
   */
  backgroundRunnable: ns.default(0),
  /** A systemd-like consumer that re-reads the mount table on every mount event. */
  systemd: z.boolean().default(true),
  /** Mounts in the host's table before the launches (root, /proc, /sys, cgroups, ...). */
  baseMounts: z.number().int().nonnegative().default(40),
  /** kubelet's CRI calls to containerd (status polls), one every this many ns. */
  criIntervalNs: z.number().positive().default(1_000_000_000),
  /** A CRI call slower than this times out at kubelet (runtime-request-timeout; 2 min default). */
  criTimeoutNs: z.number().positive().default(120_000_000_000),
  /**
   * Path walks per second that each launching container brings with it until
   * its launch completes: its shim and runc, containerd's snapshotter (stat,
   * mkdir, rmdir of mount points), kubelet's probes of it. Each is a
   * mount_lock reader, so this load grows with the number of launches.
   */
  pathLookupsPerSecPerLaunch: ns.default(200_000),
  /** CPU of a container's start after its rootfs (runc, the application), ns; default: the kernel model's containerStartNs. 0: the launch is the mount phase alone. */
  containerStartNs: ns.optional(),
  /**
   * Run the kernel model's containerStart after the rootfs: runc's new mount
   * namespace (a copy of the host's whole table), its rslave walk, its read of
   * mountinfo, and the detach of the old root, each O(mounts in the table).
   * Off by default: with the model's estimated per-mount costs it slows every
   * machine alike and erases the chiplet's advantage the blog measured (B6);
   * docs/validation.md has the numbers. false: the start is CPU work and path
   * walks only (host.containerStartNs).
   */
  containerStartMounts: z.boolean().default(false),
  /** Path walks a container's start (runc, exec, dynamic loading) makes after its rootfs is mounted. */
  containerStartPathLookups: z.number().int().nonnegative().default(100),
});

/** Images drawn per container with relative weights. */
export const imageMixSchema = z.array(z.strictObject({ layers: positiveInt.max(10_000), weight: z.number().positive(), image: z.string().min(1).optional() })).min(1);

const burstArrival = z.strictObject({ kind: z.literal('burst') });
const rateArrival = z.strictObject({ kind: z.literal('rate'), perSecond: z.number().positive() });
/** Start times of the containers in order, ns (a recorded schedule). */
const scheduleArrival = z.strictObject({ kind: z.literal('schedule'), atNs: z.array(z.number().finite().nonnegative()).min(1) });

/** When containers arrive: all at once, a Poisson rate, or recorded start times. */
export const arrivalSchema = z.discriminatedUnion('kind', [burstArrival, rateArrival, scheduleArrival]).default({ kind: 'burst' });

/** Arrivals that make sense for any number of containers (no per-container schedule). */
export const openArrivalSchema = z.discriminatedUnion('kind', [burstArrival, rateArrival]).default({ kind: 'burst' });

export const launchSchema = z
  .strictObject({
    /** x axis: containers launched (with `trace`: the trace's first N containers). */
    containers: z.array(positiveInt).min(1),
    /** Runtime variant whose ops are generated (not needed with `trace`). */
    variant: z.enum(RUNTIME_VARIANTS).optional(),
    /**
     * A recorded trace to replay instead of generating one (docs/trace-format.md;
     * `locksim measure mountstorm` and `locksim import-strace` write them): its
     * containers' ops and start times. A path relative to the scenario file.
     */
    trace: z.string().min(1).optional(),
    /** Layers of every image (give this or imageMix). */
    layers: positiveInt.max(10_000).optional(),
    imageMix: imageMixSchema.optional(),
    arrival: arrivalSchema,
    /** Kernel model name (models/kernel) or path. */
    kernel: z.string().min(1).default('linux-6.6'),
    /** kubelet's health check: a launch slower than this fails. */
    healthCheckTimeoutNs: z.number().positive().default(30_000_000_000),
    host: hostActivitySchema.default(hostActivitySchema.parse({})),
    /** Simulated time after the last arrival at which still-running launches are cut off (counted as failed). */
    horizonNs: z.number().positive().default(120_000_000_000),
  })
  .refine((l) => l.trace !== undefined || (l.layers === undefined) !== (l.imageMix === undefined), { message: 'exactly one of layers or imageMix', path: ['layers'] })
  .refine((l) => l.trace !== undefined || l.variant !== undefined, { message: 'a runtime variant (or a trace to replay)', path: ['variant'] })
  .refine((l) => l.trace === undefined || (l.layers === undefined && l.imageMix === undefined && l.variant === undefined), { message: 'no variant, layers or imageMix with a trace (the trace has them)', path: ['trace'] })
  .refine((l) => l.arrival.kind !== 'schedule' || l.containers.every((k) => k <= (l.arrival as { atNs: number[] }).atNs.length), {
    message: 'a start time in arrival.atNs for every container of the largest point',
    path: ['arrival', 'atNs'],
  });

export type LaunchParams = z.output<typeof launchSchema>;
export type HostActivity = z.output<typeof hostActivitySchema>;
