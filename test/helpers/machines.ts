/** Hand-made machines for tests of the mechanisms (no model file needed). */
import type { MachineSpec } from '../../src/machine.ts';

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
