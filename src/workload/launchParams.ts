/**
 * The `launch:` section of a scenario: a burst (or stream) of container
 * launches on one machine, replayed through the kernel model. x axis:
 * `containers` (how many launch at once).
 */
import { z } from 'zod';
import { RUNTIME_VARIANTS } from './generators.ts';

const positiveInt = z.number().int().positive();
/** Containers of one point: the trace generator's limit (generators.ts); the blog's storms were hundreds. */
export const MAX_CONTAINERS = 100_000;
const ns = z.number().nonnegative();

export const hostActivitySchema = z.strictObject({
  /**
   * Path walks per second by everything else on the machine (agents, daemons,
   * running workloads). Each is a mount_lock seqlock reader; they act on the
   * fabric as reader pressure on mount_lock's line (src/hardware/readerPressure.ts).
   */
  pathLookupsPerSec: ns.default(20_000).describe("Path walks per second by everything else on the machine (agents, daemons, running workloads). Each is a mount_lock seqlock reader; they act on the fabric as reader pressure on mount_lock's line (src/hardware/readerPressure.ts)."),
  /**
   * Runnable tasks of other work on the machine, not simulated thread by
   * thread (a shared machine's other processes): a woken thread sometimes
   * waits behind them for a CPU (the kernel model's host.otherWorkWake*).
   * Measured by `locksim measure mountstorm` (host.otherRunnable); 0: the
   * machine is the launches' alone.
   */
  backgroundRunnable: ns.default(0).describe("Runnable tasks of other work on the machine, not simulated thread by thread (a shared machine's other processes): with the simulated threads they share the CPUs fairly (CFS), so simulated CPU work stretches by (this + simulated demand) / cpus when that exceeds 1. Measured by `locksim measure mountstorm` (host.otherRunnable); 0: the machine is the launches' alone."),
  systemd: z.boolean().default(true).describe("A systemd-like consumer that re-reads the mount table on every mount event."),
  /**
   * The mount storm probe's release (probes/mountstorm.c, thread mode): its
   * container threads wait in pthread_cond_wait on a gate mutex, and the main
   * thread broadcasts with the mutex held, then unlocks. Each woken waiter
   * must take the mutex back before it returns (glibc), so they come out one
   * at a time: the mutex's unlock by one wakes the next (FUTEX_WAKE 1), which
   * must get a CPU to unlock in turn. Only the probe does this; a runtime
   * starts its containers otherwise.
   */
  probeReleaseChain: z.boolean().default(false).describe("The mount storm probe's release (probes/mountstorm.c, thread mode): the container threads leave the gate one at a time, each woken by the previous one's unlock of the gate mutex (pthread_cond_broadcast with the mutex held; every waiter takes it back before it returns), so the next is created only once the previous one runs. Set by calibrate and predict for probe storms; off for runtimes."),
  baseMounts: z.number().int().nonnegative().default(40).describe("Mounts in the host's table before the launches (root, /proc, /sys, cgroups, ...)."),
  criIntervalNs: z.number().positive().default(1_000_000_000).describe("kubelet's CRI calls to containerd (status polls), one every this many ns."),
  criTimeoutNs: z.number().positive().default(120_000_000_000).describe("A CRI call slower than this times out at kubelet (runtime-request-timeout; 2 min default)."),
  /**
   * Path walks per second that each launching container brings with it until
   * its launch completes: its shim and runc, containerd's snapshotter (stat,
   * mkdir, rmdir of mount points), kubelet's probes of it. Each is a
   * mount_lock reader, so this load grows with the number of launches.
   * Hand-set (no public count): range 50,000-400,000 and the statements it
   * moves in docs/validation.md, "Hand-set parameters".
   */
  pathLookupsPerSecPerLaunch: ns.default(200_000).describe("Path walks per second that each launching container brings with it until its launch completes: its shim and runc, containerd's snapshotter (stat, mkdir, rmdir of mount points), kubelet's probes of it. Each is a mount_lock reader, so this load grows with the number of launches."),
  containerStartNs: ns.optional().describe("CPU of a container's start after its rootfs (runc, the application), ns; default: the kernel model's containerStartNs. 0: the launch is the mount phase alone."),
  containerStartMounts: z.boolean().default(false).describe("Run the kernel model's containerStart after the rootfs: runc's new mount namespace (a copy of the host's whole table), its rslave walk, its read of mountinfo, and the detach of the old root, each O(mounts in the table). Off by default: with the model's estimated per-mount costs it slows every machine alike and erases the chiplet's advantage the blog measured (B6); docs/validation.md has the numbers. false: the start is CPU work and path walks only (host.containerStartNs)."),
  containerStartPathLookups: z.number().int().nonnegative().default(100).describe("Path walks a container's start (runc, exec, dynamic loading) makes after its rootfs is mounted."),
  /**
   * The mount the image layers live on (containerd's root under /) is
   * shared, as systemd makes / at boot (src/shared/mount-setup.c:
   * mount(NULL, "/", NULL, MS_REC|MS_SHARED, NULL)): every open_tree clone
   * of a layer joins its peer group (fs/namespace.c clone_mnt). false: a
   * private / or containerd root (a what-if fix).
   */
  layerParentShared: z.boolean().default(true).describe("The mount the image layers live on (containerd's root under /) is shared, as systemd makes / at boot (src/shared/mount-setup.c: mount(NULL, \"/\", NULL, MS_REC|MS_SHARED, NULL)): every open_tree clone of a layer joins its peer group (fs/namespace.c clone_mnt). false: a private / or containerd root (a what-if fix)."),
  idmapPropagation: z.enum(['unchanged', 'private']).default('unchanged').describe("What containerd's mount_setattr does to the clone's propagation: 'unchanged' (2.0/2.1 core/mount IDMapMount: attr.Propagation = 0, the clone stays in the peer group and no namespace_sem is taken) or 'private' (IDMapMountWithAttrs, containerd 2.3: MS_PRIVATE, the clone leaves the group under namespace_sem)."),
  systemdRateLimit: z.boolean().default(true).describe("systemd >= 248 rate-limits its mount event source to 5 dispatches per second (src/core/mount.c: sd_event_source_set_ratelimit(m->mount_event_source, 1 * USEC_PER_SEC, 5)); false: an older systemd re-reads the table after every event."),
  systemdReadBytes: positiveInt.default(1024).describe("read() size of systemd's libmount reads of mountinfo (stdio sized by procfs's st_blksize of 1024)."),
  goReadBytes: positiveInt.default(4096).describe("read() size of Go readers (containerd, runc: moby/sys/mountinfo through bufio, 4096)."),
  /**
   * runc reads /proc/self/mountinfo in the container's new mount namespace,
   * a slave of the host's (prepareRoot: MS_SLAVE|MS_REC, then
   * getParentMount), before pivot_root: a read that pays get_dominating_id
   * per slave line. Part of containerStartMounts when that is on. Off by
   * default for the reason containerStartMounts is: with the estimated
   * per-line read and parse costs (~2 us a line) it makes a 200-container
   * burst CPU-bound, and HT off then loses at 200 (+16% on m7i, B5;
   * docs/validation.md). The propagation scenarios turn it on.
   */
  runcReadsMountinfo: z.boolean().default(false).describe("runc reads /proc/self/mountinfo in the container's new mount namespace, a slave of the host's (prepareRoot: MS_SLAVE|MS_REC, then getParentMount), before pivot_root: a read that pays get_dominating_id per slave line. Part of containerStartMounts when that is on; off by default (docs/model.md section 7b)."),
  /**
   * Mount namespaces that are slaves of the host's and see the layers' mount:
   * systemd services with ProtectSystem=/PrivateTmp= (systemd's own
   * units/systemd-logind, -resolved, -networkd and -timesyncd .service.in all
   * set ProtectSystem=strict). Range 0 (no sandboxed service) to ~10; the
   * sensitivity is in docs/validation.md.
   */
  slaveNamespaces: z.number().int().min(0).max(1000).default(4).describe("Mount namespaces that are slaves of the host's and see the layers' mount (systemd services with ProtectSystem= or PrivateTmp=: systemd's logind, resolved, networkd and timesyncd units set ProtectSystem=strict). Each holds a slave copy of every attached clone, so a writer's propagation walk visits peers + slaveNamespaces x attached clones."),
  /**
   * Factor on the kernel model's per-peer ring-walk costs (propagate_mnt,
   * propagate_umount, get_dominating_id), which are this host's measured
   * values (lines warm in its caches). The AWS machines' values are not
   * published: docs/model.md 7b derives a range, as ns per step on r5.metal
   * (1 = 3.9 ns, this host warm; 8.5 = ~33 ns, systemd #43318; 23.4 = 90 ns,
   * a transfer at r5's mean core-to-core latency; 34.7 = 134 ns,
   * cross-socket), and propagation-ring-step-range.yaml charts where launches
   * cross 30 s across it.
   */
  ringStepCostFactor: z.number().positive().max(1000).default(1).describe("Factor on the kernel model's per-peer ring-walk costs (propagate_mnt, propagate_umount, get_dominating_id), which are this host's measured values (lines warm in its caches). The AWS machines' values are not published: docs/model.md section 7b derives a range as ns per step on r5.metal (1 = 3.9 ns, this host warm; 8.5 = ~33 ns, systemd PR #43318; 23.4 = 90 ns, a transfer at r5's mean core-to-core latency; 34.7 = 134 ns, cross-socket) and scenarios/propagation-ring-step-range.yaml charts where launches cross 30 s across it."),
});

/** Images drawn per container with relative weights. */
export const imageMixSchema = z.array(z.strictObject({ layers: positiveInt.max(10_000).describe('Layers of this image'), weight: z.number().positive().describe('Relative weight: the share of containers that use this image'), image: z.string().min(1).optional().describe('Name of the image (for the trace)') })).min(1);

const burstArrival = z.strictObject({ kind: z.literal('burst').describe('All containers start at time 0 (kubelet handing a node a burst of pods)') });
const rateArrival = z.strictObject({ kind: z.literal('rate').describe('A Poisson stream: exponential gaps'), perSecond: z.number().positive().describe('Mean arrivals per second') });
/** Start times of the containers in order, ns (a recorded schedule). */
const scheduleArrival = z.strictObject({ kind: z.literal('schedule').describe('Recorded start times'), atNs: z.array(z.number().finite().nonnegative()).min(1).describe('Start time of each container in order, ns') });

/** When containers arrive: all at once, a Poisson rate, or recorded start times. */
export const arrivalSchema = z.discriminatedUnion('kind', [burstArrival, rateArrival, scheduleArrival]).default({ kind: 'burst' });

/** Arrivals that make sense for any number of containers (no per-container schedule). */
export const openArrivalSchema = z.discriminatedUnion('kind', [burstArrival, rateArrival]).default({ kind: 'burst' });

export const launchSchema = z
  .strictObject({
    /** x axis: containers launched (with `trace`: the trace's first N containers). */
    containers: z.array(positiveInt.max(MAX_CONTAINERS)).min(1).describe("x axis: containers launched (with `trace`: the trace's first N containers)."),
    variant: z.enum(RUNTIME_VARIANTS).optional().describe("Runtime variant whose ops are generated (not needed with `trace`)."),
    trace: z.string().min(1).optional().describe("A recorded trace to replay instead of generating one (docs/trace-format.md; `locksim measure mountstorm` and `locksim import-strace` write them): its containers' ops and start times. A path relative to the scenario file."),
    layers: positiveInt.max(10_000).optional().describe("Layers of every image (give this or imageMix)."),
    imageMix: imageMixSchema.optional().describe("Images drawn per container with relative weights: [{ layers, weight, image? }] (give this or layers)"),
    processPerContainer: z.boolean().optional().describe("Each container's mount work runs in its own process, forked by the runtime one after another at its arrival (kernel model host.processForkNs of CPU each, on the forking thread), as a runtime starting a shim per container and `measure mountstorm --processes` do; a launch's latency still counts from its arrival, so it includes the wait for its fork. Default false: threads already running (the probe's default)."),
    unmountInspection: z.boolean().optional().describe("Each container unmounts pass 1's overlay (the inspection mount, unmounted by containerd's mount.WithTempMount) before pass 2: one umount more per container. Default false: the blog's count of mount operations does not have it."),
    arrival: arrivalSchema.describe("When containers arrive: { kind: burst } all at once, { kind: rate, perSecond } a Poisson stream, or { kind: schedule, atNs } recorded start times"),
    kernel: z.string().min(1).default('linux-6.6').describe("Kernel model name (models/kernel) or path."),
    healthCheckTimeoutNs: z.number().positive().max(86_400e9).default(30_000_000_000).describe("kubelet's health check: a launch slower than this fails."),
    host: hostActivitySchema.default(hostActivitySchema.parse({})).describe("Everything on the machine besides the launches: other path walks and runnable tasks, systemd, kubelet's CRI polls, propagation"),
    horizonNs: z.number().positive().max(86_400e9).default(120_000_000_000).describe("Simulated time after the last arrival at which still-running launches are cut off (counted as failed)."),
  })
  .refine((l) => l.trace !== undefined || (l.layers === undefined) !== (l.imageMix === undefined), { message: 'exactly one of layers or imageMix', path: ['layers'] })
  .refine((l) => l.trace !== undefined || l.variant !== undefined, { message: 'a runtime variant (or a trace to replay)', path: ['variant'] })
  .refine((l) => l.trace === undefined || (l.layers === undefined && l.imageMix === undefined && l.variant === undefined && l.unmountInspection === undefined), { message: 'no variant, layers, imageMix or unmountInspection with a trace (the trace has them)', path: ['trace'] })
  .refine((l) => l.arrival.kind !== 'schedule' || l.containers.every((k) => k <= (l.arrival as { atNs: number[] }).atNs.length), {
    message: 'a start time in arrival.atNs for every container of the largest point',
    path: ['arrival', 'atNs'],
  });

export type LaunchParams = z.output<typeof launchSchema>;
export type HostActivity = z.output<typeof hostActivitySchema>;
