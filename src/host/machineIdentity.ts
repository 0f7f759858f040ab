// Which machine a calibration holds for. A calibration's costs are the
// machine's, not the model's: the same "host" moved from one CPU family and
// kernel build to another between two days of this project and its
// single-thread costs doubled, with nothing saying so. Every calibration now
// stores the machine it was recorded on, and predict and validate say in one
// line when they are used on another one.

import { release } from 'node:os';
import { z } from 'zod';
import { readSysfsTopology, type HostTopology } from './topology.ts';

export const machineIdentitySchema = z.strictObject({
  /** /proc/cpuinfo vendor_id (GenuineIntel, AuthenticAMD), null when not told. */
  vendor: z.string().nullable(),
  /** /proc/cpuinfo "cpu family" and "model" (numbers), and "model name". */
  family: z.number().int().nullable(),
  model: z.number().int().nullable(),
  modelName: z.string().nullable(),
  /** Online logical CPUs. */
  cpus: z.number().int().positive(),
  /** uname -r. */
  kernelRelease: z.string(),
});
export type MachineIdentity = z.infer<typeof machineIdentitySchema>;

/** The identity of the machine a topology reading describes (default: this one, from /proc and /sys). */
export function machineIdentity(host: HostTopology = readSysfsTopology(), kernelRelease: string = release()): MachineIdentity {
  const c = host.cpuInfo;
  return { vendor: c.vendorId, family: c.family, model: c.modelNumber, modelName: c.model, cpus: host.cpus.length, kernelRelease };
}

/** "AuthenticAMD family 26 model 2 (AMD EPYC), 2 cpus, kernel 6.18.44". */
export function describeMachine(m: MachineIdentity): string {
  return `${m.vendor ?? 'unknown vendor'} family ${m.family ?? '?'} model ${m.model ?? '?'}${m.modelName ? ` (${m.modelName})` : ''}, ${m.cpus} cpus, kernel ${m.kernelRelease}`;
}

/** The fields that differ, named: [] when the two are the same machine as far as this record can tell. */
export function machineDifferences(recorded: MachineIdentity, here: MachineIdentity): string[] {
  const out: string[] = [];
  const keys = ['vendor', 'family', 'model', 'modelName', 'cpus', 'kernelRelease'] as const;
  for (const k of keys) if (recorded[k] !== here[k]) out.push(`${k} ${JSON.stringify(recorded[k])} -> ${JSON.stringify(here[k])}`);
  return out;
}

/**
 * One line when a calibration is used on another machine (null when it is
 * the same one); a calibration without an identity (written before it was
 * stored) says so too, since nothing tells which machine it holds for.
 */
export function otherMachineNotice(recorded: MachineIdentity | null | undefined, here: MachineIdentity, what: string): string | null {
  if (!recorded) return `note: ${what} records no machine identity (written before calibrations stored one): it may not be this machine's (${describeMachine(here)})`;
  const diff = machineDifferences(recorded, here);
  if (diff.length === 0) return null;
  return `note: ${what} was recorded on another machine (${diff.join(', ')}): its costs hold for that machine, not this one`;
}

/**
 * The machine a measurement file was recorded on: its stored identity, or
 * for files written before identities were stored, what their host record
 * tells (kernel, model name, cpu count; vendor, family and model unknown).
 */
export function measurementMachine(host: { kernel: string; cpuModel: string; topology: { cpus: number }; machine?: MachineIdentity | undefined }): MachineIdentity {
  return host.machine ?? { vendor: null, family: null, model: null, modelName: host.cpuModel === 'unknown' ? null : host.cpuModel, cpus: host.topology.cpus, kernelRelease: host.kernel };
}
