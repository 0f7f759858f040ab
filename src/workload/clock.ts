/**
 * CPU work at the machine's clock. A kernel model's CPU costs are ns measured
 * or estimated on one machine, at its clock (`mechanisms.referenceGhz`); on a
 * machine clocked higher the same instructions take proportionally less time:
 * cost x referenceGhz / ghz. Only CPU work scales: the per-CPU sum (remote
 * cache misses) and the expedited grace period (IPIs and wake-ups) are
 * latencies of the memory system and interrupts, and stay as they are; so do
 * the fabric's transfer latencies, which each hardware model cites itself.
 *
 * Clock alone: instructions per cycle differ between microarchitectures too
 * (Cascade Lake, Sapphire Rapids, Zen 4) and are not modelled; docs/model.md
 * gives the range that leaves open. A kernel model without referenceGhz (e.g.
 * one fitted by calibrate for a single host) is used as written.
 */
import type { KernelModel, KernelNumber } from './kernelModel.ts';
import type { LaunchParams } from './launchParams.ts';

/** Host CPU work of the kernel model (the rest of `host` are counts and latencies). */
const HOST_CPU_COSTS = ['pathLookupNs', 'mountinfoReadPerMountNs', 'mountinfoProcessPerMountNs', 'runtimePerOpNs', 'runtimeStartNs', 'runtimeOverlayPerLayerNs', 'containerStartNs'] as const;

/** The factor on CPU work on a machine clocked at `ghz` (1 without a reference or a clock). */
export function clockFactor(kernel: KernelModel, ghz: number | undefined): number {
  const ref = kernel.mechanisms.referenceGhz?.value;
  return ref === undefined || ghz === undefined ? 1 : ref / ghz;
}

/** The kernel model and launch parameters with every CPU cost at the machine's clock. */
export function atMachineClock(kernel: KernelModel, launch: LaunchParams, ghz: number | undefined): { kernel: KernelModel; launch: LaunchParams } {
  const f = clockFactor(kernel, ghz);
  if (f === 1) return { kernel, launch };
  const scaled = (n: KernelNumber): KernelNumber => ({ ...n, value: n.value * f });
  const host = { ...kernel.host } as Record<string, KernelNumber | undefined>;
  for (const key of HOST_CPU_COSTS) if (host[key]) host[key] = scaled(host[key]!);
  return {
    kernel: {
      ...kernel,
      host: host as unknown as KernelModel['host'],
      costs: Object.fromEntries(Object.entries(kernel.costs).map(([k, v]) => [k, scaled(v)])),
      // The dominating-id search of a slave's mountinfo read is CPU work too (the byte sizes are not).
      ...(kernel.propagation ? { propagation: { ...kernel.propagation, dominatingIdPerPeerNs: scaled(kernel.propagation.dominatingIdPerPeerNs) } } : {}),
    },
    launch: launch.host.containerStartNs === undefined ? launch : { ...launch, host: { ...launch.host, containerStartNs: launch.host.containerStartNs * f } },
  };
}
