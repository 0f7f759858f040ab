// Schema of a hardware model file (models/hardware/NAME.yaml), see
// docs/architecture.md "Hardware model files". The simulator never names a
// machine, so every number about a CPU must arrive through this file and must
// say where it came from: a measured number is `{ value, source }`.

import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { InputError } from './errors.ts';
import { loadYamlSource, type YamlSource } from './yamlLoad.ts';
import { cachedValidation } from './modelCache.ts';

/** Where a model's number comes from: a citation, a measurement with its command, or an estimate that says so. */
export const sourceField = z.string().trim().min(1, 'a non-empty source');

/** A model number of the given kind together with where it comes from. */
function sourced<T extends z.ZodType>(value: T) {
  return z.strictObject({ value, source: sourceField });
}

/** A measured or published number together with where it comes from. */
export const sourcedNumber = sourced(z.number().positive());
export type SourcedNumber = z.infer<typeof sourcedNumber>;

/** A number that may be 0 (a factor KVM reads 0 as "off" or "reset"), with where it comes from. */
const sourcedNonNegative = sourced(z.number().min(0));

/** A measured share (0 to 1) together with where it comes from. */
export const sourcedShare = sourced(z.number().min(0).max(1));

const positiveInt = z.number().int().positive();

/**
 * Plausible ranges (issue 11: `coresPerSocket: 1e9` aborted V8). Linux on
 * x86-64 supports at most 8,192 logical cpus (NR_CPUS with MAXSMP,
 * arch/x86/Kconfig); 32 sockets is the largest glued x86 system; 512 cores
 * per socket is over twice today's densest parts (192-288).
 */
export const MAX_LOGICAL_CPUS = 8192;

const topologySchema = z.strictObject({
  sockets: positiveInt.max(32),
  coresPerSocket: positiveInt.max(512),
  threadsPerCore: positiveInt.max(2),
  /** CCX count per socket on AMD; 1 on Intel mesh parts (one L3 per socket). */
  l3GroupsPerSocket: positiveInt.max(512),
  /** SLIT table as in /sys/devices/system/node/node*\/distance: local 10, remote larger; ACPI stores each entry in one byte. */
  numaDistance: z.array(z.array(positiveInt.max(255))),
  /** logical cpu n = thread (n div cores) of core (n mod cores), as Linux enumerates these machines. */
  cpuNumbering: z.literal('linux'),
}).refine((t) => t.sockets * t.coresPerSocket * t.threadsPerCore <= MAX_LOGICAL_CPUS, {
  message: `at most ${MAX_LOGICAL_CPUS} logical cpus in all (sockets x coresPerSocket x threadsPerCore; Linux's NR_CPUS limit)`,
  path: ['coresPerSocket'],
});

const fabricSchema = z.strictObject({
  kind: z.enum(['mesh', 'chiplet']),
  /** Tile grid of one socket's mesh; core positions are spread evenly over it. */
  mesh: z.strictObject({ columns: positiveInt.max(64), rows: positiveInt.max(64) }).optional(),
});

const coreToCoreSchema = z.strictObject({
  smtSibling: sourcedNumber.optional(),
  sameL3: sourcedNumber,
  crossL3: sourcedNumber.optional(),
  crossSocket: sourcedNumber.optional(),
  /**
   * How much one transfer's latency varies: its standard deviation over its
   * mean (each transfer drawn uniformly within +-sqrt(3) times that). Absent:
   * every transfer takes exactly its latency. A machine's transfers do vary
   * (probes/lockbench's transferSpread), and with none a lock passed between
   * two cores locks into one phase of the holder's loop: the lock
   * microbenchmark at cs = 0 swung from 26 to 57 M/s as the transfer went
   * from 130 to 150 ns (docs/model.md, section 4).
   */
  jitterCv: sourced(z.number().min(0).max(0.5)).optional(),
  /**
   * Transfers an atomic read-modify-write costs on a line its core holds
   * shared with another core (absent: 1). On AMD's MOESI the last writer
   * keeps such a line Owned; a locked exchange on it then took two
   * transfers (340 ns) where an exchange of a line the other core held
   * modified took one (170 ns), and a plain store with a fence on the Owned
   * line one (180 ns) (measurements/transfer-kinds-2026-12-01, AMD EPYC
   * family 26, kinds.c).
   */
  sharedRmwTransfers: sourced(z.number().min(1).max(4)).optional(),
});

export const hardwareModelSchema = z
  .strictObject({
    name: z.string().min(1),
    description: z.string().min(1),
    cpu: z.strictObject({
      vendor: z.enum(['intel', 'amd']),
      model: z.string().min(1),
      microarchitecture: z.string().min(1),
      ghz: sourcedNumber,
    }),
    topology: topologySchema,
    fabric: fabricSchema,
    coreToCore: coreToCoreSchema,
    pause: z.strictObject({ cycles: sourcedNumber }),
    /** Factor on a thread's work while its SMT sibling is busy; needed only with threadsPerCore > 1. */
    smt: z.strictObject({ siblingSlowdown: sourcedNumber }).optional(),
    /**
     * How wake-ups cost and where they land, measured by probes/wakeup
     * (`locksim measure wakeup`, then `host topology --wakeup`): a wake-up
     * onto the waker's own CPU (`localNs`), one onto another, idle CPU
     * (`remoteNs`: an IPI, and on a virtual machine the vCPU's wake through
     * the hypervisor), and the share of wake-ups whose previous CPU is busy
     * that wait there although another CPU idles (`waitOnPreviousShare`;
     * mainline's select_idle_sibling() takes the idle CPU: 0), and the share
     * of wake-ups onto a previous CPU busy with another thread that preempt
     * it (`preemptShare`: at once in user mode, at its return to user mode
     * in the kernel). Absent: one latency for every wake-up, an idle CPU is
     * always taken, and a woken thread never preempts.
     * What an interrupt takes from the thread running on the CPU it lands
     * on (the probe's `interrupts`; on a virtual machine mostly the exits
     * around its delivery): `ipiNs` for an IPI (a wake-up's reschedule IPI
     * that preempts), `rcuExpeditedIpiNs` for an expedited RCU grace
     * period's (rcu_exp_handler). Absent: interrupts take nothing.
     * `busyUmountNs`: the umount2() call's own time in that same measurement
     * (a grace period with one CPU busy, whose IPI the caller waits for);
     * calibrate holds the kernel model's per-busy-CPU grace period at what
     * it leaves over the fitted base (src/host/calibration/fit.ts,
     * withBusyGracePeriod). Absent: that part is fitted.
     * `ipiSendNs`: what sending a wake-up's IPI costs the waker's CPU (the
     * probe's `wakeCall`: its FUTEX_WAKE onto the other, idle CPU less the
     * same call with no waiter; on a virtual machine an exit to the host).
     * Absent: nothing.
     * `haltPoll` (virtual machines): how the host polls an idle vCPU before
     * it blocks its thread (KVM's adaptive halt polling, virt/kvm/kvm_main.c
     * kvm_vcpu_halt): a wake-up onto a vCPU idle past its polling window
     * costs `haltedNs` instead of `remoteNs`; the window adapts per vCPU up
     * to `maxNs` (the host's halt_poll_ns), from `growStartNs`, by `grow`
     * and `shrink` (src/cpu/scheduler.ts, HaltPoll; KVM's meaning of 0:
     * `grow` 0 never grows, `shrink` 0 resets to 0). The probe's gap sweep
     * measures `haltedNs` and `maxNs`. Absent: every wake-up onto an idle
     * CPU costs `remoteNs`.
     * `addressSpaceSwitch`: what a context switch into another process's
     * memory costs the CPU, `recentNs` back to the process that ran just
     * before on it, `otherNs` to any other (the probe's `addressSpace`: a
     * token round a ring of 2 and of 3 processes on one CPU, less the same
     * with threads; on a shadow-paging virtual machine the CR3 write exits
     * to the host, which keeps only the last root). Absent: nothing.
     */
    wakeup: z
      .strictObject({
        localNs: sourcedNumber,
        remoteNs: sourcedNumber,
        waitOnPreviousShare: sourcedShare,
        preemptShare: sourcedShare,
        ipiNs: sourcedNumber.optional(),
        rcuExpeditedIpiNs: sourcedNumber.optional(),
        busyUmountNs: sourcedNumber.optional(),
        ipiSendNs: sourcedNumber.optional(),
        addressSpaceSwitch: z.strictObject({ recentNs: sourcedNonNegative, otherNs: sourcedNonNegative }).optional(),
        haltPoll: z
          .strictObject({
            haltedNs: sourcedNumber,
            maxNs: sourcedNumber,
            growStartNs: sourcedNumber,
            grow: sourcedNonNegative,
            shrink: sourcedNonNegative,
          })
          .optional(),
      })
      .optional(),
    price: z.strictObject({ usdPerHour: sourcedNumber }).optional(),
  })
  .superRefine((m, ctx) => {
    const t = m.topology;
    // Each check is about how the parts of a machine fit together, which the
    // per-field schema cannot express; messages are phrased as expectations.
    const d = t.numaDistance;
    if (d.length !== t.sockets) {
      ctx.addIssue({ code: 'custom', path: ['topology', 'numaDistance'], message: `a ${t.sockets} x ${t.sockets} table (one row per socket)`, params: { got: `${d.length} row${d.length === 1 ? '' : 's'}` } });
    } else {
      d.forEach((row, i) => {
        if (row.length !== t.sockets) {
          ctx.addIssue({ code: 'custom', path: ['topology', 'numaDistance', i], message: `a row of ${t.sockets} distances (one per socket)`, params: { got: `${row.length}` } });
        }
      });
    }
    if (t.coresPerSocket % t.l3GroupsPerSocket !== 0) {
      ctx.addIssue({ code: 'custom', path: ['topology', 'coresPerSocket'], message: `a multiple of l3GroupsPerSocket (${t.l3GroupsPerSocket})`, params: { got: String(t.coresPerSocket) } });
    }
    if (m.fabric.kind === 'mesh' && !m.fabric.mesh) {
      ctx.addIssue({ code: 'custom', path: ['fabric', 'mesh'], message: 'a mesh section { columns, rows } because kind is mesh', params: { got: 'nothing' } });
    }
    if (m.fabric.kind !== 'mesh' && m.fabric.mesh) {
      ctx.addIssue({ code: 'custom', path: ['fabric', 'mesh'], message: `no mesh section because kind is ${m.fabric.kind}`, params: { got: 'a mesh section' } });
    }
    if (m.fabric.kind === 'mesh' && m.fabric.mesh && m.fabric.mesh.columns * m.fabric.mesh.rows < t.coresPerSocket) {
      // Not an error in principle (a tile could hold two cores), but every
      // public die description we model has at least one tile per core.
      ctx.addIssue({ code: 'custom', path: ['fabric', 'mesh'], message: `at least ${t.coresPerSocket} tiles (columns x rows) for ${t.coresPerSocket} cores per socket`, params: { got: `${m.fabric.mesh.columns * m.fabric.mesh.rows}` } });
    }
    if (t.l3GroupsPerSocket > 1 && !m.coreToCore.crossL3) {
      ctx.addIssue({ code: 'custom', path: ['coreToCore', 'crossL3'], message: 'a sourced number { value, source } because l3GroupsPerSocket > 1', params: { got: 'nothing' } });
    }
    if (t.l3GroupsPerSocket === 1 && m.coreToCore.crossL3) {
      ctx.addIssue({ code: 'custom', path: ['coreToCore', 'crossL3'], message: 'no crossL3 because l3GroupsPerSocket is 1', params: { got: 'a crossL3 entry' } });
    }
    if (t.sockets > 1 && !m.coreToCore.crossSocket) {
      ctx.addIssue({ code: 'custom', path: ['coreToCore', 'crossSocket'], message: 'a sourced number { value, source } because sockets > 1', params: { got: 'nothing' } });
    }
    if (t.threadsPerCore > 1 && !m.coreToCore.smtSibling) {
      ctx.addIssue({ code: 'custom', path: ['coreToCore', 'smtSibling'], message: 'a sourced number { value, source } because threadsPerCore > 1', params: { got: 'nothing' } });
    }
    if (t.threadsPerCore > 1 && !m.smt) {
      ctx.addIssue({ code: 'custom', path: ['smt'], message: 'an smt section { siblingSlowdown } because threadsPerCore > 1', params: { got: 'nothing' } });
    }
  });

export type HardwareModel = z.infer<typeof hardwareModelSchema>;

/** <repo>/models/hardware, found relative to this source file so it works from any cwd. */
export const defaultModelsDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../models/hardware');

/** Names of the model files in a directory (without .yaml), sorted. */
export function listHardwareModels(modelsDir: string = defaultModelsDir): string[] {
  if (!existsSync(modelsDir)) return [];
  return readdirSync(modelsDir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => basename(f, '.yaml'))
    .sort();
}

/** A bare name (no slash, no .yaml/.yml) is a model in modelsDir; anything else is a path. */
export function isBareModelName(nameOrPath: string): boolean {
  return !nameOrPath.includes('/') && !nameOrPath.includes('\\') && !/\.ya?ml$/i.test(nameOrPath);
}

/** Where a model reference came from, so an unknown name is reported at the referring line. */
export interface ModelReference {
  source: YamlSource;
  path: PropertyKey[];
  /** Directory relative paths are resolved against (the referring file's directory). */
  baseDir?: string;
}

const cache = new Map<string, HardwareModel>();

/**
 * Loads and validates a hardware model by name (models/hardware/NAME.yaml) or
 * by path. Models are read-only inputs, so each file is parsed once per process.
 */
export function loadHardwareModel(nameOrPath: string, modelsDir: string = defaultModelsDir, from?: ModelReference): HardwareModel {
  let file: string;
  if (isBareModelName(nameOrPath)) {
    file = join(modelsDir, `${nameOrPath}.yaml`);
    if (!existsSync(file)) {
      const names = listHardwareModels(modelsDir);
      const expected = names.length > 0 ? `one of ${names.join(', ')} (or a path to a model file)` : `a model file in ${modelsDir}`;
      if (from) throw from.source.error(from.path, expected, JSON.stringify(nameOrPath));
      throw new InputError({ file: nameOrPath, line: 1, column: 1, field: 'model', expected, got: JSON.stringify(nameOrPath) });
    }
  } else {
    file = isAbsolute(nameOrPath) ? nameOrPath : resolve(from?.baseDir ?? process.cwd(), nameOrPath);
    if (!existsSync(file) && from) throw from.source.error(from.path, 'a hardware model name or an existing model file', JSON.stringify(nameOrPath));
  }
  const cached = cache.get(file);
  if (cached) return cached;
  // Messages name the file as the user would type it from here.
  const rel = relative(process.cwd(), file);
  const shownAs = rel.startsWith('..') || isAbsolute(rel) ? file : rel;
  const model = cachedValidation('hardware', file, import.meta.url, () => loadYamlSource(file, shownAs).validate(hardwareModelSchema));
  deepFreeze(model);
  cache.set(file, model);
  return model;
}

function deepFreeze(o: unknown): void {
  if (o === null || typeof o !== 'object' || Object.isFrozen(o)) return;
  Object.freeze(o);
  for (const v of Object.values(o)) deepFreeze(v);
}
