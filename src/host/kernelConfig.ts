// The host kernel's build options that decide how its locks and RCU behave:
// the preemption model (a PREEMPT_DYNAMIC build boots into any of them), the
// RCU flavour (CONFIG_PREEMPT_RCU: whether an expedited grace period's IPI
// into a CPU in kernel mode reports at once, kernel/rcu/tree_exp.h
// rcu_exp_handler) and the tick rate (HZ: the 4 ms or 1 ms granularity of
// slice ends and the rw-semaphore's handoff timeout). Read from
// /proc/config.gz (CONFIG_IKCONFIG_PROC) or /boot/config-<release>, and the
// boot command line's preempt=; recorded with every measurement so that a
// calibration can say which kernel its costs hold for.

import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { z } from 'zod';

export const kernelConfigSchema = z.strictObject({
  /** Where the options were read (a path). */
  source: z.string(),
  /** CONFIG_PREEMPT_RCU=y: preemptible RCU. */
  preemptRcu: z.boolean(),
  /** CONFIG_PREEMPT_DYNAMIC=y: the preemption model is chosen at boot (preempt=), the build option is its default. */
  preemptDynamic: z.boolean(),
  /** The preemption model the build defaults to (CONFIG_PREEMPT_NONE / _VOLUNTARY / PREEMPT / _LAZY / _RT), null if none is set. */
  preemptBuild: z.enum(['none', 'voluntary', 'full', 'lazy', 'rt']).nullable(),
  /** preempt= on the boot command line (a PREEMPT_DYNAMIC kernel's choice), null if absent. */
  preemptBoot: z.string().nullable(),
  /** CONFIG_HZ, null if absent. */
  hz: z.number().int().positive().nullable(),
});
export type KernelConfig = z.infer<typeof kernelConfigSchema>;

/** The options above from a kernel config text (`CONFIG_X=y` lines) and a boot command line. */
export function parseKernelConfig(text: string, source: string, cmdline = ''): KernelConfig {
  const on = (name: string) => new RegExp(`^CONFIG_${name}=y$`, 'm').test(text);
  const models = [['none', 'PREEMPT_NONE'], ['voluntary', 'PREEMPT_VOLUNTARY'], ['full', 'PREEMPT'], ['lazy', 'PREEMPT_LAZY'], ['rt', 'PREEMPT_RT']] as const;
  const hz = /^CONFIG_HZ=(\d+)$/m.exec(text);
  const boot = /(?:^|\s)preempt=(\S+)/.exec(cmdline);
  return {
    source,
    preemptRcu: on('PREEMPT_RCU'),
    preemptDynamic: on('PREEMPT_DYNAMIC'),
    preemptBuild: models.find(([, name]) => on(name))?.[0] ?? null,
    preemptBoot: boot ? boot[1]! : null,
    hz: hz ? Number(hz[1]) : null,
  };
}

/** This host's kernel config, or null when neither /proc/config.gz nor /boot/config-<release> can be read. */
export function readKernelConfig(kernelRelease: string = release()): KernelConfig | null {
  let cmdline = '';
  try {
    cmdline = readFileSync('/proc/cmdline', 'utf8');
  } catch {
    // No command line to read: preemptBoot stays null.
  }
  const sources: [string, () => string][] = [
    ['/proc/config.gz', () => gunzipSync(readFileSync('/proc/config.gz')).toString('utf8')],
    [`/boot/config-${kernelRelease}`, () => readFileSync(`/boot/config-${kernelRelease}`, 'utf8')],
  ];
  for (const [source, read] of sources) {
    try {
      return parseKernelConfig(read(), source, cmdline);
    } catch {
      // Not readable here: try the next source.
    }
  }
  return null;
}
