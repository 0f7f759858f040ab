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
  /** Path walks a container's start (runc, exec, dynamic loading) makes after its rootfs is mounted. */
  containerStartPathLookups: z.number().int().nonnegative().default(100),
});

export const launchSchema = z
  .strictObject({
    /** x axis: containers launched. */
    containers: z.array(positiveInt).min(1),
    variant: z.enum(RUNTIME_VARIANTS),
    /** Layers of every image (give this or imageMix). */
    layers: positiveInt.max(10_000).optional(),
    imageMix: z.array(z.strictObject({ layers: positiveInt.max(10_000), weight: z.number().positive(), image: z.string().min(1).optional() })).min(1).optional(),
    arrival: z
      .discriminatedUnion('kind', [
        z.strictObject({ kind: z.literal('burst') }),
        z.strictObject({ kind: z.literal('rate'), perSecond: z.number().positive() }),
      ])
      .default({ kind: 'burst' }),
    /** Kernel model name (models/kernel) or path. */
    kernel: z.string().min(1).default('linux-6.6'),
    /** kubelet's health check: a launch slower than this fails. */
    healthCheckTimeoutNs: z.number().positive().default(30_000_000_000),
    host: hostActivitySchema.default(hostActivitySchema.parse({})),
    /** Simulated time after the last arrival at which still-running launches are cut off (counted as failed). */
    horizonNs: z.number().positive().default(120_000_000_000),
  })
  .refine((l) => (l.layers === undefined) !== (l.imageMix === undefined), { message: 'exactly one of layers or imageMix', path: ['layers'] });

export type LaunchParams = z.output<typeof launchSchema>;
export type HostActivity = z.output<typeof hostActivitySchema>;
