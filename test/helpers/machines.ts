/** Hand-made machines for tests of the mechanisms (no model file needed). */
import type { MachineSpec } from '../../src/machine.ts';
import { loadHardwareModel, type HardwareModel } from '../../src/config/hardwareSchema.ts';
import { hostMachineSpec } from '../../src/host/calibrate.ts';

/** `cores` cores per socket split into `l3PerSocket` groups, `smt` threads per core, Linux-style numbering. */
export function handMadeSpec(fabric: 'mesh' | 'chiplet', sockets: number, cores: number, l3PerSocket: number, smt = 1): MachineSpec {
  const total = sockets * cores;
  const n = total * smt;
  const core = new Int32Array(n), l3 = new Int32Array(n), socket = new Int32Array(n);
  for (let cpu = 0; cpu < n; cpu++) {
    const c = cpu % total;
    core[cpu] = c;
    socket[cpu] = Math.floor(c / cores);
    l3[cpu] = Math.floor(c / (cores / l3PerSocket));
  }
  const siblings = Array.from({ length: n }, (_, cpu) => [...Array(n).keys()].filter((o) => o !== cpu && core[o] === core[cpu]));
  return {
    name: `${fabric}-${sockets}x${cores}x${smt}`,
    fabric,
    layout: { core, l3, socket, cores: total, l3Groups: sockets * l3PerSocket, sockets },
    siblings,
    latencies: { hit: 1, smtSibling: 8, sameL3: 45, crossL3: 100, crossSocket: 135 },
    pauseNs: 40,
    smtSlowdown: 1.3,
  };
}

/**
 * The generic 2-core machine as a host calibration models it (hostMachineSpec),
 * with wake-ups that know their waker: 3 us onto the waker's CPU, 12 us onto
 * the other, the given placement shares, and any more of the hardware model's
 * `wakeup` fields (interrupt costs, the address-space switch).
 */
export function wakeAwareSpec(shares: { waitOnPrevious: number; preempt: number }, more: Partial<NonNullable<HardwareModel['wakeup']>> = {}): MachineSpec {
  const hw = structuredClone(loadHardwareModel('generic-2core'));
  hw.wakeup = {
    localNs: { value: 3_000, source: 't' },
    remoteNs: { value: 12_000, source: 't' },
    waitOnPreviousShare: { value: shares.waitOnPrevious, source: 't' },
    preemptShare: { value: shares.preempt, source: 't' },
    ...more,
  };
  return hostMachineSpec(hw);
}
