/**
 * Ablations: switching one mechanism of the model off while keeping everything
 * else, to see what a result owes to it (`locksim run --ablate NAME`,
 * `ablate:` in scenario and plan files, `locksim attribute`).
 *
 * An ablation is a transformation of the validated model data a point is
 * simulated with (the machine spec from the hardware model, the kernel model,
 * the launch parameters), applied here and nowhere else: the engine does not
 * know ablations exist, it only runs the data it is given. Each effect keeps
 * the rest of the data as it was, and returns new objects (the kernel model is
 * cached and frozen).
 *
 * The ablation set is part of the run's identity (it is a field of the
 * resolved scenario, so it enters the run hash: a checkpoint or shard of
 * another set is refused) and is recorded in results.json. Points keep their
 * seeds under ablation: a plain and an ablated run draw the same random
 * numbers where the mechanism does not intervene (common random numbers),
 * which keeps the difference between them the mechanism's.
 */
import { z } from 'zod';
import type { MachineSpec } from '../machine.ts';
import type { KernelModel } from '../workload/kernelModel.ts';
import type { LaunchParams } from '../workload/launchParams.ts';

/** Every mechanism that can be switched off, with what switching it off means. */
export const ABLATIONS = [
  {
    name: 'smt',
    description: 'SMT siblings do not share execution resources: sibling slowdown 1.0 for work and for cache-line transfers (the hardware model\'s smt.siblingSlowdown)',
  },
  {
    name: 'numa-hop',
    description: 'a cross-socket cache-line transfer costs as much as the farthest one inside a socket (coreToCore.crossSocket = crossL3, or sameL3 on one-L3 sockets)',
  },
  {
    name: 'tor-queue',
    description: 'the mesh home agent (CHA TOR) serves requests to one line in parallel instead of one at a time (mesh fabrics only; the chiplet IO-die home is unchanged)',
  },
  {
    name: 'per-cpu-costs',
    description: 'kernel work that scales with the CPU count costs as on one CPU: the per-CPU refcount/writer sum (percpuSumPerCpuNs) reads one counter, the expedited RCU grace period IPIs no other CPU (rcuExpeditedPerCpuNs 0)',
  },
  {
    name: 'background-walks',
    description: 'no path walks by the rest of the host: launch.host.pathLookupsPerSec and pathLookupsPerSecPerLaunch 0 (mount_lock keeps only the launches\' own readers)',
  },
  {
    name: 'rcu-expedited',
    description: 'synchronize_rcu_expedited() returns at once: umount and close of a tree wait for no grace period (rcuExpeditedBaseNs and rcuExpeditedPerCpuNs 0)',
  },
  {
    name: 'systemd',
    description: 'no systemd re-reading /proc/self/mountinfo on every mount event (launch.host.systemd false)',
  },
  {
    name: 'kubelet-cri',
    description: 'no kubelet CRI polls of containerd (each of which reads the mount table under namespace_sem)',
  },
  {
    name: 'rwsem-spinning',
    description: 'namespace_sem writers sleep at once instead of spinning optimistically on a running owner (CONFIG_RWSEM_SPIN_ON_OWNER off)',
  },
  {
    name: 'clock-speed',
    description: 'CPU work costs the same on every machine: the kernel model\'s costs are not scaled by its referenceGhz / the machine\'s cpu.ghz',
  },
  {
    name: 'propagation',
    description: 'peer groups never grow: every mount private (launch.host.layerParentShared false), so clones join no peer group, no ring walk in move_mount, umount or mountinfo reads',
  },
  {
    name: 'work-jitter',
    description: 'every piece of CPU work costs exactly its mean (kernel mechanisms.workJitterCv 0)',
  },
] as const;

export type AblationName = (typeof ABLATIONS)[number]['name'];

export const ABLATION_NAMES = ABLATIONS.map((a) => a.name) as [AblationName, ...AblationName[]];

export const ablationNameSchema = z.enum(ABLATION_NAMES);

/** A list of ablations, each named once. */
export const ablateListSchema = z.array(ablationNameSchema).superRefine((list, ctx) => {
  const dup = list.findIndex((v, i) => list.indexOf(v) !== i);
  if (dup >= 0) ctx.addIssue({ code: 'custom', path: [dup], message: 'each ablation once', params: { got: `${JSON.stringify(list[dup])} again` } });
});

/** The model data of one point, the inputs ablations transform. */
export interface PointModels {
  machine: MachineSpec;
  /** Launch points only. */
  kernel?: KernelModel;
  launch?: LaunchParams;
}

type Effect = (m: PointModels) => PointModels;

const withKernel = (m: PointModels, edit: (k: KernelModel) => KernelModel): PointModels => (m.kernel ? { ...m, kernel: edit(m.kernel) } : m);
const withHost = (m: PointModels, edit: (h: LaunchParams['host']) => Partial<LaunchParams['host']>): PointModels =>
  m.launch ? { ...m, launch: { ...m.launch, host: { ...m.launch.host, ...edit(m.launch.host) } } } : m;
const number = <T extends { value: number }>(n: T, value: number): T => ({ ...n, value });

/** What each ablation does to the data. Exhaustive: a registered name without an effect does not compile. */
const EFFECTS: Record<AblationName, Effect> = {
  smt: (m) => ({ ...m, machine: { ...m.machine, smtSlowdown: 1 } }),
  'numa-hop': (m) => ({ ...m, machine: { ...m.machine, latencies: { ...m.machine.latencies, crossSocket: m.machine.latencies.crossL3 } } }),
  'tor-queue': (m) => ({ ...m, machine: { ...m.machine, torQueue: false } }),
  'per-cpu-costs': (m) => {
    // The sum runs over every logical CPU (kernelPath.ts): dividing the
    // per-CPU cost by the CPU count leaves the cost of one counter.
    const cpus = m.machine.layout.core.length;
    return withKernel(m, (k) => ({
      ...k,
      mechanisms: {
        ...k.mechanisms,
        percpuSumPerCpuNs: number(k.mechanisms.percpuSumPerCpuNs, k.mechanisms.percpuSumPerCpuNs.value / cpus),
        rcuExpeditedPerCpuNs: number(k.mechanisms.rcuExpeditedPerCpuNs, 0),
      },
    }));
  },
  'background-walks': (m) => withHost(m, () => ({ pathLookupsPerSec: 0, pathLookupsPerSecPerLaunch: 0 })),
  'rcu-expedited': (m) =>
    withKernel(m, (k) => ({
      ...k,
      mechanisms: { ...k.mechanisms, rcuExpeditedBaseNs: number(k.mechanisms.rcuExpeditedBaseNs, 0), rcuExpeditedPerCpuNs: number(k.mechanisms.rcuExpeditedPerCpuNs, 0) },
    })),
  systemd: (m) => withHost(m, () => ({ systemd: false })),
  'kubelet-cri': (m) => withHost(m, () => ({ criIntervalNs: Infinity })),
  'rwsem-spinning': (m) =>
    withKernel(m, (k) => ({
      ...k,
      locks: Object.fromEntries(Object.entries(k.locks).map(([name, lock]) => [name, lock.kind === 'rwsem' ? { ...lock, optimisticSpin: false } : lock])),
    })),
  'clock-speed': (m) => {
    const { ghz: _ghz, ...machine } = m.machine;
    return { ...m, machine };
  },
  propagation: (m) => withHost(m, () => ({ layerParentShared: false })),
  'work-jitter': (m) =>
    withKernel(m, (k) => {
      if (!k.mechanisms.workJitterCv) return k;
      return { ...k, mechanisms: { ...k.mechanisms, workJitterCv: number(k.mechanisms.workJitterCv, 0) } };
    }),
};

/** The point's model data with each named mechanism switched off (in registry order, so the order given does not matter). */
export function applyAblations(names: readonly AblationName[], models: PointModels): PointModels {
  let out = models;
  for (const name of ABLATION_NAMES) if (names.includes(name)) out = EFFECTS[name](out);
  return out;
}

export function describeAblation(name: AblationName): string {
  return ABLATIONS.find((a) => a.name === name)!.description;
}

/** `--help` text: one line per ablation. */
export function ablationHelp(): string {
  return ABLATIONS.map((a) => `  ${a.name.padEnd(18)} ${a.description}`).join('\n');
}
