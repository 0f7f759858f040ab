// Kernel model files (models/kernel/NAME.yaml): the mount path of one kernel
// version as data — per syscall, the ordered global-lock acquisitions and CPU
// work — plus the costs, each with its source. The file's own comments
// document the step kinds; this module validates the file and checks that the
// steps make sense as kernel code (every lock released in order, per-CPU sums
// only under mount_lock, no RCU wait under a spinlock), so a mistake in a model
// is reported at its line instead of showing up as a strange simulation.

import { existsSync, readdirSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { describeValue, InputError } from '../config/errors.ts';
import { loadYamlSource, YamlSource } from '../config/yamlLoad.ts';
import { cachedValidation } from '../config/modelCache.ts';
import { sourceField } from '../config/hardwareSchema.ts';
import type { OpName } from './trace.ts';

/** A cost or limit with where it comes from; `calibrate: true` marks an estimate that calibration may refit. */
export const kernelNumberSchema = z.strictObject({
  value: z.number().finite().nonnegative(),
  source: sourceField,
  calibrate: z.boolean().optional(),
});
export type KernelNumber = z.infer<typeof kernelNumberSchema>;

/** Syscall entries every kernel model must describe: one per trace op, fsconfig split in two. */
export const SYSCALL_KEYS = [
  'open_tree', 'mount_setattr', 'move_mount', 'mount_overlay', 'umount',
  'fsopen', 'fsconfig', 'fsconfig_create', 'fsmount', 'close_tree', 'mount_plain',
] as const;
/**
 * Trace ops a kernel model may leave out (models written before the op
 * existed, e.g. calibrations in measurements/): a launch whose trace makes
 * one is refused with one line when its kernel model lacks the entry.
 */
export const OPTIONAL_SYSCALL_KEYS = ['umount_overlay'] as const;
export type SyscallKey = (typeof SYSCALL_KEYS)[number] | (typeof OPTIONAL_SYSCALL_KEYS)[number];
/**
 * An error when `model` lacks the entry of an optional trace op that a launch
 * makes (null when it has every one): a model written before the op existed.
 */
export function missingSyscallError(model: KernelModel, key: (typeof OPTIONAL_SYSCALL_KEYS)[number], why: string): InputError | null {
  if (model.syscalls[key] !== undefined) return null;
  return new InputError({ file: `kernel model ${model.name}`, line: 1, column: 1, field: `syscalls.${key}`, expected: `an entry for ${key} (${why}; models/kernel/linux-6.6.yaml has one, a calibration written before it does not)`, got: 'none' });
}

/** An error when a launch forks a process per container and `model` has no fork cost (null when it has one). */
export function missingForkCostError(model: KernelModel): InputError | null {
  if (model.host.processForkNs !== undefined) return null;
  return new InputError({ file: `kernel model ${model.name}`, line: 1, column: 1, field: 'host.processForkNs', expected: 'the CPU cost of forking one container process (one process per container was asked for; models/kernel/linux-6.6.yaml has it, a calibration written before it does not)', got: 'none' });
}

/** The trace-op syscalls a model describes: every required one, and the optional ones it has. */
export function traceSyscallKeys(model: Pick<KernelModel, 'syscalls'>): SyscallKey[] {
  return [...SYSCALL_KEYS, ...OPTIONAL_SYSCALL_KEYS.filter((k) => model.syscalls[k] !== undefined)];
}

/**
 * The kernel-model entry a trace op runs. An `fsconfig` with neither `layer`
 * nor `path` is FSCONFIG_CMD_CREATE, which builds the overlay; with a layer it
 * sets one `lowerdir+`, with a path another parameter such as upperdir
 * (docs/trace-format.md).
 */
export function syscallKeyForOp(op: OpName, hasLayer: boolean, hasPath = false): SyscallKey {
  if (op === 'fsconfig' && !hasLayer && !hasPath) return 'fsconfig_create';
  return op;
}

export type KernelStep =
  | { kind: 'lock'; lock: string; mode: 'read' | 'write' }
  | { kind: 'unlock'; lock: string }
  | { kind: 'cpu'; cost: string }
  | { kind: 'cpuPerMount'; cost: string }
  | { kind: 'percpuSum' }
  | { kind: 'sharedLines'; lines: string[] }
  | { kind: 'rcuGracePeriod'; flavor: 'expedited' }
  | { kind: 'pathLookups'; count: number }
  | { kind: 'perPeer'; cost: string }
  | { kind: 'joinPeerGroup' }
  | { kind: 'leavePeerGroup' }
  | { kind: 'forEachLayer'; steps: KernelStep[] }
  | { kind: 'forEachMount'; steps: KernelStep[] }
  | { kind: 'if'; condition: StepCondition; then: KernelStep[]; else: KernelStep[] };

/**
 * What an `if` step may ask about the launch (decided once per run, from the
 * scenario's host settings):
 *  - setsPropagation: the runtime's mount_setattr sets a propagation type
 *    (containerd >= 2.3 IDMapMountWithAttrs: MS_PRIVATE; 2.0/2.1 IDMapMount
 *    passes attr.propagation = 0, which leaves it unchanged).
 */
export const STEP_CONDITIONS = ['setsPropagation'] as const;
export type StepCondition = (typeof STEP_CONDITIONS)[number];

const STEP_SHAPES =
  '{lock: NAME, mode: read|write}, {unlock: NAME}, {cpu: COST}, {cpuPerMount: COST}, {perPeer: COST}, {joinPeerGroup: true}, {leavePeerGroup: true}, {percpuSum: true}, {sharedLines: [NAME, ...]}, {rcuGracePeriod: expedited}, {pathLookups: N}';
const LOOP_SHAPES = `{forEachLayer: [steps]}, {forEachMount: [steps]}, {if: ${STEP_CONDITIONS.join('|')}, then: [steps], else?: [steps]}`;

type Ctx = z.core.$RefinementCtx;

function stepIssue(ctx: Ctx, path: PropertyKey[], expected: string, got: unknown): void {
  ctx.addIssue({ code: 'custom', message: expected, path, params: { got: describeValue(got) } });
}

/**
 * One step. Hand-parsed rather than a zod union so that a wrong step says
 * which shapes a step may have and points at the offending key.
 */
/** The body of a loop or a branch: a non-empty list of steps, none of them a loop. */
function parseBody(body: unknown, path: PropertyKey[], ctx: Ctx): KernelStep[] | undefined {
  if (!Array.isArray(body) || body.length === 0) return stepIssue(ctx, path, 'a non-empty list of steps', body), undefined;
  const inner: KernelStep[] = [];
  for (let i = 0; i < body.length; i++) {
    const st = parseStep(body[i], [...path, i], ctx, true);
    if (st === undefined) return undefined;
    inner.push(st);
  }
  return inner;
}

function parseStep(raw: unknown, path: PropertyKey[], ctx: Ctx, insideLoop: boolean): KernelStep | undefined {
  const shapes = insideLoop ? STEP_SHAPES : `${STEP_SHAPES}, ${LOOP_SHAPES}`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    stepIssue(ctx, path, `a step mapping, one of ${shapes}`, raw);
    return undefined;
  }
  const o = raw as Record<string, unknown>;
  const keys = Object.keys(o);
  const only = (allowed: string[]): boolean => {
    const extra = keys.find((k) => !allowed.includes(k));
    if (extra !== undefined) {
      stepIssue(ctx, [...path, extra], `only the keys ${allowed.join(', ')} in this step`, extra);
      return false;
    }
    return true;
  };
  if ('lock' in o) {
    if (!only(['lock', 'mode'])) return undefined;
    if (typeof o.lock !== 'string' || o.lock === '') return stepIssue(ctx, [...path, 'lock'], 'a lock name', o.lock), undefined;
    if (o.mode !== 'read' && o.mode !== 'write') return stepIssue(ctx, [...path, 'mode'], 'read or write', o.mode), undefined;
    return { kind: 'lock', lock: o.lock, mode: o.mode };
  }
  if ('unlock' in o) {
    if (!only(['unlock'])) return undefined;
    if (typeof o.unlock !== 'string' || o.unlock === '') return stepIssue(ctx, [...path, 'unlock'], 'a lock name', o.unlock), undefined;
    return { kind: 'unlock', lock: o.unlock };
  }
  if ('cpu' in o) {
    if (!only(['cpu'])) return undefined;
    if (typeof o.cpu !== 'string' || o.cpu === '') return stepIssue(ctx, [...path, 'cpu'], 'the name of a cost in costs', o.cpu), undefined;
    return { kind: 'cpu', cost: o.cpu };
  }
  if ('cpuPerMount' in o) {
    if (!only(['cpuPerMount'])) return undefined;
    if (typeof o.cpuPerMount !== 'string' || o.cpuPerMount === '') return stepIssue(ctx, [...path, 'cpuPerMount'], 'the name of a cost in costs (ns per mount in the table)', o.cpuPerMount), undefined;
    return { kind: 'cpuPerMount', cost: o.cpuPerMount };
  }
  if ('perPeer' in o) {
    if (!only(['perPeer'])) return undefined;
    if (typeof o.perPeer !== 'string' || o.perPeer === '') return stepIssue(ctx, [...path, 'perPeer'], 'the name of a cost in costs (ns per member of the peer group walked)', o.perPeer), undefined;
    return { kind: 'perPeer', cost: o.perPeer };
  }
  for (const flag of ['joinPeerGroup', 'leavePeerGroup'] as const) {
    if (!(flag in o)) continue;
    if (!only([flag])) return undefined;
    if (o[flag] !== true) return stepIssue(ctx, [...path, flag], 'true', o[flag]), undefined;
    return { kind: flag };
  }
  if ('if' in o && !insideLoop) {
    if (!only(['if', 'then', 'else'])) return undefined;
    if (!(STEP_CONDITIONS as readonly unknown[]).includes(o.if)) return stepIssue(ctx, [...path, 'if'], `one of ${STEP_CONDITIONS.join(', ')}`, o.if), undefined;
    const branch = (key: 'then' | 'else'): KernelStep[] | undefined => (key === 'else' && o[key] === undefined ? [] : parseBody(o[key], [...path, key], ctx));
    const thenSteps = branch('then');
    if (thenSteps === undefined) return undefined;
    const elseSteps = branch('else');
    if (elseSteps === undefined) return undefined;
    return { kind: 'if', condition: o.if as StepCondition, then: thenSteps, else: elseSteps };
  }
  if ('percpuSum' in o) {
    if (!only(['percpuSum'])) return undefined;
    if (o.percpuSum !== true) return stepIssue(ctx, [...path, 'percpuSum'], 'true', o.percpuSum), undefined;
    return { kind: 'percpuSum' };
  }
  if ('sharedLines' in o) {
    if (!only(['sharedLines'])) return undefined;
    const names = o.sharedLines;
    if (!Array.isArray(names) || names.length === 0) return stepIssue(ctx, [...path, 'sharedLines'], 'a list of line names (kernel data every CPU writes)', names), undefined;
    const bad = names.findIndex((n) => typeof n !== 'string' || !/^[A-Za-z_][A-Za-z0-9_.>-]*$/.test(n));
    if (bad >= 0) return stepIssue(ctx, [...path, 'sharedLines', bad], 'a line name (letters, digits, _ . - >)', names[bad]), undefined;
    return { kind: 'sharedLines', lines: names as string[] };
  }
  if ('rcuGracePeriod' in o) {
    if (!only(['rcuGracePeriod'])) return undefined;
    if (o.rcuGracePeriod !== 'expedited') return stepIssue(ctx, [...path, 'rcuGracePeriod'], 'expedited', o.rcuGracePeriod), undefined;
    return { kind: 'rcuGracePeriod', flavor: 'expedited' };
  }
  if ('pathLookups' in o) {
    if (!only(['pathLookups'])) return undefined;
    const n = o.pathLookups;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) return stepIssue(ctx, [...path, 'pathLookups'], 'an integer >= 1', n), undefined;
    return { kind: 'pathLookups', count: n };
  }
  for (const loop of ['forEachLayer', 'forEachMount'] as const) {
    if (!(loop in o) || insideLoop) continue;
    if (!only([loop])) return undefined;
    const inner = parseBody(o[loop], [...path, loop], ctx);
    if (inner === undefined) return undefined;
    return { kind: loop, steps: inner };
  }
  stepIssue(ctx, keys.length > 0 ? [...path, keys[0]!] : path, `a step, one of ${shapes}`, keys.length > 0 ? keys[0] : raw);
  return undefined;
}

const stepsSchema = z.array(z.unknown()).min(1).transform((list, ctx) => {
  const out: KernelStep[] = [];
  for (let i = 0; i < list.length; i++) {
    const s = parseStep(list[i], [i], ctx, false);
    if (s === undefined) return z.NEVER;
    out.push(s);
  }
  return out;
});

const syscallSchema = z.strictObject({
  description: z.string().min(1),
  /** Whether the syscall changes the host's mount table, waking pollers of /proc/self/mountinfo (systemd). */
  notifiesMountWatchers: z.boolean(),
  steps: stepsSchema,
});
export type KernelSyscall = z.infer<typeof syscallSchema>;

/** One step of the container start: a syscall of the model (count times), or a full read of /proc/self/mountinfo. */
const containerStartStepSchema = z.union([
  z.strictObject({ syscall: z.string().regex(/^[a-z_][a-z0-9_]*$/), count: z.number().int().min(1).optional(), why: z.string().min(1) }),
  z.strictObject({ readMountinfo: z.strictObject({ parsePerLine: z.string().min(1) }), why: z.string().min(1) }),
]);
export type ContainerStartStep = z.infer<typeof containerStartStepSchema>;

/**
 * The lock kinds a kernel model may declare, each built by KernelMountPath
 * with its behaviour: an rw-semaphore (sleeping, readers and writers) or a
 * seqlock (a spinlock for writers, a sequence its readers, the path walks,
 * retry on).
 */
export const LOCK_KINDS = ['rwsem', 'seqlock'] as const;
export type LockKind = (typeof LOCK_KINDS)[number];

const lockSchema = z.strictObject({
  kind: z.enum(LOCK_KINDS),
  source: z.string().trim().min(1),
  /** rwsem only: writers spin on a running owner before sleeping (CONFIG_RWSEM_SPIN_ON_OWNER; absent: true). */
  optimisticSpin: z.boolean().optional(),
});

export const kernelModelSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().min(1),
  mountOptionLimitBytes: kernelNumberSchema,
  locks: z.record(z.string().regex(/^[a-z_][a-z0-9_]*$/), lockSchema),
  /**
   * Who drives an expedited RCU grace period (src/workload/kernelPath.ts,
   * ExpeditedRcu): `normal`, a kernel thread of normal priority that must get
   * a CPU like any other (rcu_exp_gp_kthread_worker without
   * CONFIG_RCU_EXP_KTHREAD; a workqueue before 5.19); `realtime`, a SCHED_FIFO
   * thread that takes a CPU at once (CONFIG_RCU_EXP_KTHREAD). Absent: realtime.
   */
  rcuExpeditedWorker: z.strictObject({
    priority: z.enum(['normal', 'realtime']),
    source: z.string().trim().min(1),
  }).optional(),
  /**
   * The scheduler's run queues (src/cpu/scheduler.ts): `per-cpu`, Linux's
   * (a woken thread queues on its previous CPU when none is idle; an idle CPU
   * takes another CPU's waiting thread only at the periodic balance, every
   * balanceIntervalNs), or `global`, one queue any free CPU takes from.
   * Absent: global.
   */
  scheduler: z.strictObject({
    runQueues: z.enum(['per-cpu', 'global']),
    balanceIntervalNs: kernelNumberSchema,
    source: z.string().trim().min(1),
  }).optional(),
  mechanisms: z.strictObject({
    percpuSumPerCpuNs: kernelNumberSchema,
    rcuExpeditedBaseNs: kernelNumberSchema,
    rcuExpeditedPerCpuNs: kernelNumberSchema,
    /**
     * The expedited grace period's fast path when no other CPU is busy: its
     * length, and the share of runs that settle in it (absent: every grace
     * period is rcuExpeditedBaseNs + per busy CPU). Measured by calibrate from
     * single-container unmounts, whose waits are bimodal, run by run, on some
     * hosts.
     */
    rcuExpeditedIdleFastNs: kernelNumberSchema.optional(),
    rcuExpeditedIdleFastShare: kernelNumberSchema.optional(),
    /** Lone grace periods at the start of every run that take the slow length before the run settles in its mode (absent: 0). */
    rcuExpeditedIdleWarmupGps: kernelNumberSchema.optional(),
    /**
     * Run-to-run variation of each piece of CPU work (coefficient of
     * variation of a log-normal factor of mean 1; absent or 0: every run of
     * a step costs exactly its value). Identical launches that start together
     * stay in lockstep without it.
     */
    workJitterCv: kernelNumberSchema.optional(),
    /**
     * 1: the kernel has preemptible RCU (CONFIG_PREEMPT_RCU, as every
     * PREEMPT_DYNAMIC build, whatever preemption model it boots): an
     * expedited grace period's IPI into a CPU in kernel mode reports at once
     * unless preemption is off there (rcu_exp_handler, kernel/rcu/tree_exp.h),
     * so only a thread holding or spinning on a spinlock, or spinning on a
     * rw-semaphore, holds it. Absent or 0: !CONFIG_PREEMPT_RCU, where every
     * CPU in kernel mode reports only at its next context switch or return to
     * user mode. Measurements record the host's flavour
     * (host.kernelConfig.preemptRcu), but `calibrate` does not set it: on
     * this project's PREEMPT_RCU guest it held out worse (docs/model.md).
     */
    rcuPreemptible: kernelNumberSchema.optional(),
    /**
     * A {cpuPerMount} walk's knee: up to this many mounts each costs the
     * step's cost, each one beyond it mountWalkBeyondFactor times that (the
     * walked list no longer fits in a cache level, so every walk fetches it
     * again). Measured by calibrate from a walk series that spans it; absent:
     * every mount costs the same.
     */
    mountWalkCachedMounts: kernelNumberSchema.optional(),
    mountWalkBeyondFactor: kernelNumberSchema.optional(),
    /**
     * Clock (GHz) of the machine the CPU costs are ns of; on another machine
     * they scale by referenceGhz / its ghz (src/workload/clock.ts). Absent:
     * the costs are used as written on every machine.
     */
    referenceGhz: kernelNumberSchema.optional(),
  }),
  host: z.strictObject({
    pathLookupNs: kernelNumberSchema,
    mountinfoReadPerMountNs: kernelNumberSchema,
    mountinfoLinesPerRead: kernelNumberSchema,
    mountinfoProcessPerMountNs: kernelNumberSchema,
    runtimePerOpNs: kernelNumberSchema,
    /** The runtime's own CPU work per container besides runtimePerOpNs per op (absent: 0). */
    runtimeStartNs: kernelNumberSchema.optional(),
    /** Time from a container's release to its first mount op that is not CPU work (a woken thread getting going; absent: 0). */
    runtimeStartLatencyNs: kernelNumberSchema.optional(),
    /**
     * With one process per container (launch.processPerContainer): CPU time
     * of the parent's fork of one container process, from the fork call to
     * the child running (absent: 0). The parent forks them one after another.
     */
    processForkNs: kernelNumberSchema.optional(),
    /**
     * With one process per container: the child's own CPU at its start,
     * before it runs its code (ret_from_fork, libc's fork return faulting its
     * stack and data in), paid on its CPU while the parent forks on (absent:
     * the child's start is inside processForkNs, on the parent). Calibrate
     * measures it with processForkNs as the parent's CPU per fork alone.
     */
    processStartCpuNs: kernelNumberSchema.optional(),
    /**
     * With one process per container: the CPU its exit takes after its last
     * op (the address space's teardown, files), on its CPU while other
     * launches run (absent: 0). The launch's latency ends before it.
     */
    processExitCpuNs: kernelNumberSchema.optional(),
    /**
     * With one process per container: what a fork costs while another
     * thread runs or waits, as a multiple of processForkNs (absent: 1), and
     * so the child's start and its exit (processStartCpuNs,
     * processExitCpuNs) beside another running thread. On a
     * shadow-paging guest the fork's and the child's page-table work cost
     * ~2.5x beside a running vCPU, whose TLB the host must flush by kicking
     * it and waiting, where a halted vCPU costs nothing (a compute loop and a
     * lone copy-on-write fault do not change). Measured by the probe before
     * each --processes release (forkToChildNs).
     */
    processForkBusyFactor: kernelNumberSchema.optional(),
    /**
     * With one process per container: CPU time the container's fresh process
     * spends in page faults (the pages it writes first: its stack, libc's
     * data, its records), taken at its start (absent: 0). Measured by
     * calibrate as the faults each --processes container took times what one
     * copy-on-write fault costs (the probe times both): ~40 faults of ~15 us
     * on a shadow-paging guest, of ~1 us on bare metal.
     */
    processFaultNs: kernelNumberSchema.optional(),
    /** The runtime's work per lower layer before an overlay mount(2): building the lowerdir option (absent: 0). */
    runtimeOverlayPerLayerNs: kernelNumberSchema.optional(),
    /**
     * Waiting behind other work for a CPU after a wake-up, on a shared
     * machine (launch params host.backgroundRunnable other runnable tasks):
     * the chance per other task that a wake-up waits, and the mean wait, ns.
     * Measured by calibrate from single-container unmounts; absent: no wait.
     */
    otherWorkWakeShare: kernelNumberSchema.optional(),
    otherWorkWakeWaitNs: kernelNumberSchema.optional(),
    containerStartNs: kernelNumberSchema,
  }),
  costs: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/), kernelNumberSchema),
  /**
   * Mount propagation (fs/pnode.c) as the mount-table readers see it; the
   * ring walks of writers are `perPeer` steps. Absent: reads cost
   * host.mountinfoReadPerMountNs per line in host.mountinfoLinesPerRead
   * lines per read(), whatever the reader and the peer groups.
   */
  propagation: z
    .strictObject({
      /** get_dominating_id() per slave line of a mountinfo read in a slave namespace: ns per member of the master's peer ring. */
      dominatingIdPerPeerNs: kernelNumberSchema,
      /** Bytes of a mountinfo line of a bind or base mount. */
      mountinfoLineBytes: kernelNumberSchema,
      /** Bytes an overlay's line adds per lower layer (its lowerdir= option). */
      overlayLineBytesPerLayer: kernelNumberSchema,
    })
    .optional(),
  /**
   * One entry per trace op (SYSCALL_KEYS), plus any syscall the container
   * start uses (containerStart below), named freely.
   */
  syscalls: z
    .object({
      ...(Object.fromEntries(SYSCALL_KEYS.map((k) => [k, syscallSchema])) as Record<(typeof SYSCALL_KEYS)[number], typeof syscallSchema>),
      umount_overlay: syscallSchema.optional(),
    })
    .catchall(syscallSchema),
  /**
   * What the OCI runtime (runc) does in the kernel to start a container once
   * its rootfs is mounted, in order; optional (without it the start is only
   * host.containerStartNs of CPU work).
   */
  containerStart: z
    .strictObject({
      description: z.string().min(1),
      steps: z.array(containerStartStepSchema).min(1),
    })
    .optional(),
});
export type KernelModel = z.infer<typeof kernelModelSchema>;

/**
 * Checks that each syscall's steps are possible kernel code; throws an
 * InputError at the offending step.
 */
function crossCheck(model: KernelModel, src: YamlSource): void {
  const knee = [model.mechanisms.mountWalkCachedMounts, model.mechanisms.mountWalkBeyondFactor];
  if ((knee[0] === undefined) !== (knee[1] === undefined)) {
    const missing = knee[0] === undefined ? 'mountWalkCachedMounts' : 'mountWalkBeyondFactor';
    const given = knee[0] === undefined ? 'mountWalkBeyondFactor' : 'mountWalkCachedMounts';
    throw src.error(['mechanisms', given], `${missing} beside it (the walk's knee needs both)`, 'only one of the two');
  }
  const lockNames = Object.keys(model.locks);
  for (const key of Object.keys(model.syscalls)) {
    const base: PropertyKey[] = ['syscalls', key, 'steps'];
    // Held locks, innermost last, with where each was taken (for the error).
    const held: { lock: string; mode: string; path: PropertyKey[] }[] = [];
    const holdsSeqlock = (): boolean => held.some((h) => model.locks[h.lock]!.kind === 'seqlock');
    const walk = (steps: KernelStep[], path: PropertyKey[]): void => {
      steps.forEach((step, i) => {
        const at = [...path, i];
        switch (step.kind) {
          case 'lock': {
            const def = model.locks[step.lock];
            if (!def) throw src.error([...at, 'lock'], `one of the locks ${lockNames.join(', ')}`, JSON.stringify(step.lock));
            if (def.kind === 'seqlock' && step.mode !== 'write') {
              throw src.error([...at, 'mode'], `write (${step.lock} is a seqlock; its readers are the path lookups)`, step.mode);
            }
            if (held.some((h) => h.lock === step.lock)) {
              throw src.error([...at, 'lock'], `a lock not already held (taking ${step.lock} twice would deadlock)`, JSON.stringify(step.lock));
            }
            held.push({ lock: step.lock, mode: step.mode, path: at });
            return;
          }
          case 'unlock': {
            const top = held[held.length - 1];
            if (!top || top.lock !== step.lock) {
              const expected = top ? `an unlock of the innermost held lock, ${top.lock}` : 'an unlock of a held lock (none is held here)';
              throw src.error([...at, 'unlock'], expected, JSON.stringify(step.lock));
            }
            held.pop();
            return;
          }
          case 'cpu':
            if (!(step.cost in model.costs)) throw src.error([...at, 'cpu'], 'the name of a cost defined in costs', JSON.stringify(step.cost));
            return;
          case 'cpuPerMount':
            if (!(step.cost in model.costs)) throw src.error([...at, 'cpuPerMount'], 'the name of a cost defined in costs', JSON.stringify(step.cost));
            return;
          case 'percpuSum':
            if (!holdsSeqlock()) throw src.error([...at, 'percpuSum'], 'a per-CPU sum only while mount_lock is held for write (mnt_get_count requires it)', 'no seqlock held');
            return;
          case 'rcuGracePeriod':
            if (holdsSeqlock()) throw src.error([...at, 'rcuGracePeriod'], 'an RCU grace period outside any spinlock (it sleeps)', 'a seqlock held');
            return;
          case 'pathLookups':
          case 'sharedLines':
            return;
          case 'perPeer':
            if (!(step.cost in model.costs)) throw src.error([...at, 'perPeer'], 'the name of a cost defined in costs', JSON.stringify(step.cost));
            return;
          case 'joinPeerGroup':
          case 'leavePeerGroup':
            // Peer rings (mnt_share) are changed under namespace_lock() (clone_mnt, umount_tree, change_mnt_propagation).
            if (!held.some((h) => model.locks[h.lock]!.kind === 'rwsem' && h.mode === 'write')) {
              throw src.error([...at, step.kind], 'a peer-group change only while an rwsem (namespace_sem) is held for write', 'none held for write');
            }
            return;
          case 'if': {
            const depth = held.length;
            for (const branch of ['then', 'else'] as const) {
              walk(step[branch], [...at, branch]);
              if (held.length !== depth) {
                const leak = held[held.length - 1]!;
                throw src.error(leak.path, `every lock taken inside the ${branch} branch released inside it`, `${leak.lock} still held at its end`);
              }
            }
            return;
          }
          case 'forEachLayer':
          case 'forEachMount': {
            const depth = held.length;
            walk(step.steps, [...at, step.kind]);
            if (held.length !== depth) {
              const leak = held[held.length - 1]!;
              throw src.error(leak.path, `every lock taken inside ${step.kind} released inside it`, `${leak.lock} still held at the end of the loop body`);
            }
            if (step.kind === 'forEachMount') {
              // The simulator runs a long per-mount loop in chunks (kernelPath.ts); a sleeping lock or wait inside would not scale.
              const bad = step.steps.findIndex((x) => x.kind === 'rcuGracePeriod' || (x.kind === 'lock' && model.locks[x.lock]!.kind !== 'seqlock') || x.kind === 'pathLookups' || x.kind === 'sharedLines');
              if (bad >= 0) throw src.error([...at, 'forEachMount', bad], 'only cpu, percpuSum and mount_lock (seqlock) steps inside forEachMount', step.steps[bad]!.kind);
            }
            return;
          }
        }
      });
    };
    walk(model.syscalls[key]!.steps, base);
    if (held.length > 0) {
      const leak = held[held.length - 1]!;
      throw src.error(leak.path, `every lock released by the end of ${key}`, `${leak.lock} still held`);
    }
  }
  // A syscall outside the trace ops only exists for the container start: any other is a misspelling.
  const started = new Set((model.containerStart?.steps ?? []).flatMap((s) => ('syscall' in s ? [s.syscall] : [])));
  for (const key of Object.keys(model.syscalls)) {
    if (!([...SYSCALL_KEYS, ...OPTIONAL_SYSCALL_KEYS] as readonly string[]).includes(key) && !started.has(key)) {
      throw src.error(['syscalls', key], `a trace op's syscall (${[...SYSCALL_KEYS, ...OPTIONAL_SYSCALL_KEYS].join(', ')}) or one that containerStart names`, JSON.stringify(key));
    }
  }
  model.containerStart?.steps.forEach((step, i) => {
    const at = ['containerStart', 'steps', i];
    if ('syscall' in step) {
      if (!(step.syscall in model.syscalls)) throw src.error([...at, 'syscall'], `the name of a syscall defined in syscalls`, JSON.stringify(step.syscall));
    } else if (!(step.readMountinfo.parsePerLine in model.costs)) {
      throw src.error([...at, 'readMountinfo', 'parsePerLine'], 'the name of a cost defined in costs (ns per line)', JSON.stringify(step.readMountinfo.parsePerLine));
    }
  });
}

/** Validates a kernel model already read into a YamlSource. */
export function kernelModelFromSource(src: YamlSource): KernelModel {
  const model = src.validate(kernelModelSchema);
  crossCheck(model, src);
  return model;
}

/** Parses kernel model text (for tests and embedded models). */
export function parseKernelModelText(text: string, file: string): KernelModel {
  return kernelModelFromSource(new YamlSource(text, file));
}

/** <repo>/models/kernel, found relative to this file so any cwd works. */
export const defaultKernelModelsDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../models/kernel');

export function listKernelModels(dir: string = defaultKernelModelsDir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -'.yaml'.length)).sort();
}

const cache = new Map<string, KernelModel>();

/**
 * Loads a kernel model by bare name (models/kernel/NAME.yaml) or by path.
 * Results are cached per file and frozen, so callers must not mutate them
 * (calibration should build a new model with changed costs).
 */
export function loadKernelModel(nameOrPath: string, dir: string = defaultKernelModelsDir): KernelModel {
  const bare = !nameOrPath.includes('/') && !nameOrPath.includes('\\') && !nameOrPath.endsWith('.yaml');
  let file: string;
  if (bare) {
    file = join(dir, `${nameOrPath}.yaml`);
    if (!existsSync(file)) {
      const names = listKernelModels(dir);
      throw new InputError({
        file: nameOrPath, line: 1, column: 1, field: 'kernel',
        expected: names.length > 0 ? `one of ${names.join(', ')} (or a path to a kernel model file)` : `a kernel model file in ${dir}`,
        got: JSON.stringify(nameOrPath),
      });
    }
  } else {
    file = isAbsolute(nameOrPath) ? nameOrPath : resolve(nameOrPath);
  }
  const cached = cache.get(file);
  if (cached) return cached;
  const model = cachedValidation('kernel', file, import.meta.url, () => kernelModelFromSource(loadYamlSource(file)));
  deepFreeze(model);
  cache.set(file, model);
  return model;
}

function deepFreeze(v: unknown): void {
  if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const child of Object.values(v)) deepFreeze(child);
}

/** The launch facts `if` steps ask about (all false when not given: containerd 2.0/2.1). */
export type StepConditions = Partial<Record<StepCondition, boolean>>;

/** Layers-aware count of a syscall's steps of one kind (e.g. how often it writes mount_lock). */
export function countSteps(steps: readonly KernelStep[], layers: number, match: (s: KernelStep) => boolean, conditions: StepConditions = {}): number {
  let n = 0;
  for (const s of steps) {
    if (s.kind === 'forEachLayer') n += layers * countSteps(s.steps, layers, match, conditions);
    else if (s.kind === 'forEachMount') continue; // depends on the mount table at run time
    else if (s.kind === 'if') n += countSteps(conditions[s.condition] ? s.then : s.else, layers, match, conditions);
    else if (match(s)) n++;
  }
  return n;
}

/**
 * CPU of a {cpuPerMount} step over a list of `mounts` mounts at `perMountNs`
 * each, with the model's knee (mechanisms.mountWalkCachedMounts and
 * mountWalkBeyondFactor) when it has one. The knee is a cache's size: up to
 * it, a list walked a moment ago by the same CPU is still in that cache
 * (`warm`, the walk series' case: one thread walking with only its own
 * syscalls between). A `cold` walk (the CPU ran other threads or idled
 * since its last walk, or the other CPU walked last, as in a storm: see
 * kernelPath.ts warmWalk) fetches every mount from beyond that cache: each
 * costs the beyond-the-knee price. Without a knee, warm and cold cost the
 * same.
 */
export function perMountWalkNs(model: KernelModel, perMountNs: number, mounts: number, warm = true): number {
  const cached = model.mechanisms.mountWalkCachedMounts?.value;
  const factor = model.mechanisms.mountWalkBeyondFactor?.value;
  if (cached === undefined || factor === undefined) return perMountNs * mounts;
  if (!warm) return perMountNs * factor * mounts;
  if (mounts <= cached) return perMountNs * mounts;
  return perMountNs * (cached + factor * (mounts - cached));
}

/**
 * CPU-and-mechanism time of one syscall on an idle machine with `cpus`
 * possible/online CPUs (no waiting), with `mounts` in the mount table (the
 * per-mount steps' count).
 */
export function idleSyscallNs(model: KernelModel, key: SyscallKey, layers: number, cpus: number, mounts = 0, peers = 0, conditions: StepConditions = {}): number {
  const stepNs = (s: KernelStep): number => {
    switch (s.kind) {
      case 'cpu':
        return model.costs[s.cost]!.value;
      case 'cpuPerMount':
        return perMountWalkNs(model, model.costs[s.cost]!.value, mounts);
      case 'percpuSum':
        return cpus * model.mechanisms.percpuSumPerCpuNs.value;
      case 'rcuGracePeriod':
        return model.mechanisms.rcuExpeditedBaseNs.value + cpus * model.mechanisms.rcuExpeditedPerCpuNs.value;
      case 'pathLookups':
        return s.count * model.host.pathLookupNs.value;
      case 'forEachLayer':
        return layers * s.steps.reduce((t, x) => t + stepNs(x), 0);
      case 'forEachMount':
        return mounts * s.steps.reduce((t, x) => t + stepNs(x), 0);
      case 'perPeer':
        return model.costs[s.cost]!.value * peers;
      case 'sharedLines':
        // Alone on the machine the lines stay in this CPU's cache: hits of ~1 ns.
        return 0;
      case 'if':
        return (conditions[s.condition] ? s.then : s.else).reduce((t, x) => t + stepNs(x), 0);
      default:
        return 0;
    }
  };
  return model.syscalls[key]!.steps.reduce((t, s) => t + stepNs(s), 0);
}
